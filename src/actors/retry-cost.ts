import type { Config } from '../config/config.ts';
import { retryHandlerFailure } from '../dataflow/failures.ts';
import type { TaskRecord } from '../dataflow/task.ts';

/**
 * What a failed try costs against `Config.retries`: what the `retryHandler` says, or 1 without
 * one. A handler that throws ends the task instead: `failure` is the error it fails with (the
 * handler's, with the try's error as its `cause`).
 */
export function retryCost(config: Pick<Config, 'retryHandler'>, record: TaskRecord, error: unknown): { cost: number } | { failure: Error } {
  const { retryHandler } = config;
  if (!retryHandler) return { cost: 1 };
  try {
    return {
      cost: retryHandler(error, {
        taskId: record.id,
        appName: record.app.name,
        tries: record.attempt,
        failCost: record.failCost,
        executor: record.executor ?? '',
      }),
    };
  } catch (handlerError) {
    return { failure: retryHandlerFailure(handlerError, error) };
  }
}
