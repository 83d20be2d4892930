/**
 * Internals for tests and tools: not part of the public API, and may change at any time.
 */
import type { DataFlowKernel } from './kernel/kernel.ts';
import * as htexModule from './actors/executor-htex.ts';
import { htexManagers, type HtexManager } from './actors/executor-htex.ts';
import { provideHtexModule } from './actors/executor-htex-lazy.ts';

export { send } from './actors/actor.ts';
export { TASK_TRANSITIONS, transition } from './apps/task-states.ts';
export { NatsServer, findNatsServer, NatsServerError } from './nats/server.ts';
export { subjectsFor, encodeBinary, encodeJson, PROTOCOL_VERSION } from './nats/protocol.ts';
export { connectNats, NATS_ENV } from './nats/connection.ts';
export type { BlockInfo } from './actors/executor-htex.ts';

// Managers made from now on exist as soon as load() returns, for htexManager() below.
provideHtexModule(htexModule);

/** The manager of the HighThroughputExecutor labelled `label` in `kernel`. */
export function htexManager(kernel: DataFlowKernel, label: string): HtexManager {
  const ref = kernel.executorManagers.get(label);
  const manager = ref && htexManagers.get(ref);
  if (!manager) throw new Error(`no HighThroughputExecutor labelled '${label}' in this kernel`);
  return manager;
}
export { crashMonitorForTest } from './actors/monitor.ts';
