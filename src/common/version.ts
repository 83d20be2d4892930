import { readFileSync } from 'node:fs';
import { packageFile } from './package-files.ts';

/** This package's version, from its package.json (at the package's root). */
export const PACKAGE_VERSION: string = (
  JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }
).version;
