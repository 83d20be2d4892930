/**
 * The exports of a CommonJS package loaded with a dynamic `import()`. Node gives its named
 * exports and `default` (its `module.exports`); a bundle that carries the package (esbuild,
 * scripts/build.mjs bundles the NATS clients in) gives only `default`. Reading them from
 * `default` when it is there works for both.
 */
export function cjsExports<T extends object>(namespace: T): T {
  const exports = (namespace as { default?: unknown }).default;
  return (exports !== null && typeof exports === 'object' ? exports : namespace) as T;
}
