#!/usr/bin/env node
// The `parsl-ts` command. An installed or built package runs dist/cli/main.js; a fresh clone
// (no `npm run build`) registers tsx and runs the TypeScript sources instead.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
let cli;
if (existsSync(built)) {
  cli = await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
const status = await cli.main(process.argv.slice(2));
if (status !== undefined) process.exitCode = status;
