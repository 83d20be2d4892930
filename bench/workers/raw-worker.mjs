// The raw postMessage baseline: a plain worker thread (no tsx, no comlink, no actors) that
// answers each message at once. It runs the same no-op function as the other subjects.
import { parentPort } from 'node:worker_threads';

const noop = () => 0;

parentPort.on('message', (msg) => {
  switch (msg.type) {
    case 'run': // one task per message
      parentPort.postMessage({ id: msg.id, ok: true, value: noop(...msg.args) });
      return;
    case 'batch': { // many tasks per message
      const values = new Array(msg.tasks.length);
      for (let i = 0; i < msg.tasks.length; i++) values[i] = noop(...msg.tasks[i].args);
      parentPort.postMessage({ ids: msg.tasks.map((t) => t.id), values });
      return;
    }
    case 'inc': // one link of a chain
      parentPort.postMessage({ value: msg.value + 1 });
      return;
    case 'ping':
      parentPort.postMessage({ type: 'pong' });
      return;
  }
});
