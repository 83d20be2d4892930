/**
 * The part of zod that the package uses, and the only part `z` (zod.ts) offers, so that a use of
 * anything else fails type-checking rather than at run time in the built package.
 *
 * Why a subset: the built package loads this file bundled with zod into one CommonJS file
 * (dist/common/zod-subset.cjs, scripts/build.mjs), tree-shaken to these exports. Requiring zod's
 * own build (~95 modules and every locale) cost ~45–50 ms of CPU on the way to the first result
 * of a script (its first `new Config`); the bundled subset ~7 ms. From the sources, zod.ts
 * requires zod itself.
 */
export {
  array,
  boolean,
  custom,
  discriminatedUnion,
  enum,
  instanceof,
  lazy,
  literal,
  number,
  object,
  record,
  string,
  tuple,
  undefined,
  union,
  unknown,
} from 'zod';
