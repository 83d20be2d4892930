import type * as Comlink from 'comlink';
import adapter from 'comlink/dist/umd/node-adapter.js';
import type { MessagePort, Worker } from 'node:worker_threads';

type NodeEndpointFactory = (endpoint: unknown) => Comlink.Endpoint;

// The UMD adapter is a CommonJS module whose `module.exports` is the function; its typings
// declare an ES default export. Accept both shapes.
const factory = ((adapter as unknown as { default?: NodeEndpointFactory }).default ??
  (adapter as unknown as NodeEndpointFactory)) satisfies NodeEndpointFactory;

/** A comlink endpoint over a worker thread or its `parentPort`. */
export function nodeEndpoint(target: Worker | MessagePort): Comlink.Endpoint {
  return factory(target);
}
