import { createRequire } from 'node:module';
import type * as Comlink from 'comlink';
import type { MessagePort, Worker } from 'node:worker_threads';

type NodeEndpointFactory = (endpoint: unknown) => Comlink.Endpoint;

// comlink is required when the first worker thread starts, not at `import 'parsl-ts'`: its UMD
// build is CommonJS, which an ES import would also run through Node's CommonJS export scanner.
const require = createRequire(import.meta.url);
let loaded: typeof Comlink | undefined;

/** The comlink module. */
export function comlink(): typeof Comlink {
  loaded ??= require('comlink') as typeof Comlink;
  return loaded;
}

/** A comlink endpoint over a worker thread or its `parentPort`. */
export function nodeEndpoint(target: Worker | MessagePort): Comlink.Endpoint {
  // The UMD adapter is a CommonJS module whose `module.exports` is the function; its typings
  // declare an ES default export. Accept both shapes.
  const adapter = require('comlink/dist/umd/node-adapter.js') as { default?: NodeEndpointFactory } | NodeEndpointFactory;
  const factory = typeof adapter === 'function' ? adapter : adapter.default!;
  return factory(target);
}
