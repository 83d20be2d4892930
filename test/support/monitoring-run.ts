import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MonitoringEvent } from '../../src/monitoring/events.ts';

/**
 * A synthetic run, shaped like the runs the DFK will record: per "sample", a bash app
 * `generate` (stdout/stderr files on disk, on an HTEX block, with resource samples), a
 * `simulate` that depends on it (every 7th fails once with a retryable ValueError and then
 * succeeds; every 50th fails both tries with a RuntimeError), an `analyze` that depends on
 * simulate (dep_fail when simulate failed; every 11th is a memo hit), and at the end one
 * `summarize` that depends on every analyze. Deterministic: the counts it returns are what
 * the database must hold.
 */
export interface SyntheticRun {
  runId: string;
  tasks: number;
  tries: number;
  failedTries: { ValueError: number; RuntimeError: number };
  finalStates: Record<string, number>;
  /** One task id of each kind, for the task page. */
  examples: { bash: number; retried: number; failed: number; depFail: number; memo: number; summarize: number };
}

export interface SyntheticOptions {
  runId?: string;
  samples: number;
  /** Where bash stdout/stderr files go (written only for the first `filesFor` samples). */
  logDir: string;
  filesFor?: number;
  /** Time of the first event (ms); each event is 1 ms after the last but some overlap. */
  start?: number;
  /** @default 'synthetic' */
  workflowName?: string;
  /** Leave the last `openSamples` samples running (and the workflow not ended): a run in progress. */
  openSamples?: number;
}

export function* syntheticRun(options: SyntheticOptions, out: SyntheticRun): Generator<MonitoringEvent> {
  const runId = options.runId ?? 'run-synthetic';
  out.runId = runId;
  const filesFor = options.filesFor ?? 20;
  const open = options.openSamples ?? 0;
  let t = options.start ?? Date.UTC(2026, 10, 30, 12, 0, 0);
  let id = 0;
  out.tasks = 0;
  out.tries = 0;
  out.failedTries = { ValueError: 0, RuntimeError: 0 };
  out.finalStates = {};
  const final = (state: string) => (out.finalStates[state] = (out.finalStates[state] ?? 0) + 1);
  const tick = (ms = 1) => (t += ms);
  yield { type: 'workflow-start', runId, time: t, workflowName: options.workflowName ?? 'synthetic', workflowVersion: '1', host: 'driver', user: 'tester', rundir: join(options.logDir, '000') };
  yield { type: 'block', runId, time: tick(), executor: 'htex', blockId: '0', jobId: '4242', status: 'PENDING' };
  yield { type: 'block', runId, time: tick(50), executor: 'htex', blockId: '0', jobId: '4242', status: 'RUNNING' };
  yield { type: 'node', runId, time: tick(), hostname: 'node-a', uid: 'mgr-0', blockId: '0', cpuCount: 4, totalMemory: 8e9, active: true, workerCount: 4, runtimeVersion: 'v20.20.2' };
  const analyzeIds: number[] = [];
  const hosts = ['node-a', 'node-a', 'node-a', 'node-a'];
  mkdirSync(options.logDir, { recursive: true });

  const runTry = function* (taskId: number, tryId: number, executor: string, fail?: { errorClass: string; message: string }, bash = false): Generator<MonitoringEvent> {
    out.tries++;
    const onBlock = executor === 'htex';
    yield { type: 'try-launched', runId, taskId, tryId, time: tick(), executor, blockId: onBlock ? '0' : undefined };
    yield { type: 'task-state', runId, taskId, tryId, state: 'launched', time: t };
    yield { type: 'try-running', runId, taskId, tryId, time: tick(2), blockId: onBlock ? '0' : undefined, hostname: onBlock ? hosts[taskId % 4] : 'driver' };
    yield { type: 'task-state', runId, taskId, tryId, state: 'running', time: t };
    if (bash) {
      yield { type: 'resource', runId, taskId, tryId, time: tick(5), intervalMs: 5, pid: 1000 + (taskId % 4), cpuPercent: 50 + (taskId % 50), memoryResident: 1e7 + taskId * 1000, timeUser: 0.01, timeSystem: 0 };
    }
    tick(10 + (taskId % 13));
    if (bash) yield { type: 'resource', runId, taskId, tryId, time: t, intervalMs: 5, pid: 1000 + (taskId % 4), cpuPercent: 90, memoryResident: 2e7, timeUser: 0.02, timeSystem: 0.001 };
    if (fail) {
      out.failedTries[fail.errorClass as 'ValueError']++;
      yield { type: 'try-failed', runId, taskId, tryId, time: tick(), errorClass: fail.errorClass, message: fail.message, stack: `${fail.errorClass}: ${fail.message}\n    at simulate (file:///work/pipeline.ts:12:11)` };
    } else {
      yield { type: 'try-returned', runId, taskId, tryId, time: tick() };
    }
  };

  for (let s = 0; s < options.samples; s++) {
    const running = s >= options.samples - open;
    // generate: a bash app with stdout/stderr
    const gen = id++;
    out.tasks++;
    const stdout = join(options.logDir, `task_${gen}_generate.stdout`);
    const stderr = join(options.logDir, `task_${gen}_generate.stderr`);
    if (s < filesFor) {
      writeFileSync(stdout, `generating sample ${s}\n${'x'.repeat(20)}\ndone ${s}\n`);
      writeFileSync(stderr, `warning: sample ${s} is synthetic\n`);
    }
    yield { type: 'task-submitted', runId, taskId: gen, time: tick(), funcName: 'generate', memoize: false, stdout, stderr, argsSummary: `generate(${s}, seed=${s * 7})` };
    yield { type: 'task-state', runId, taskId: gen, tryId: 0, state: 'pending', time: t };
    if (running) {
      out.tries++;
      yield { type: 'try-launched', runId, taskId: gen, tryId: 0, time: tick(), executor: 'htex', blockId: '0' };
      yield { type: 'task-state', runId, taskId: gen, tryId: 0, state: 'launched', time: t };
      continue;
    }
    yield* runTry(gen, 0, 'htex', undefined, true);
    yield { type: 'task-state', runId, taskId: gen, tryId: 0, state: 'exec_done', time: t };
    final('exec_done');
    out.examples ??= { bash: gen, retried: -1, failed: -1, depFail: -1, memo: -1, summarize: -1 };

    // simulate: retried (every 7th), failed for good (every 50th)
    const sim = id++;
    out.tasks++;
    yield { type: 'task-submitted', runId, taskId: sim, time: tick(), funcName: 'simulate', depends: [gen], memoize: true, hashsum: `h${sim}`, argsSummary: `simulate(<future of task ${gen}>, steps=100)` };
    yield { type: 'task-state', runId, taskId: sim, tryId: 0, state: 'pending', time: t };
    const fatal = s % 50 === 49;
    const retried = s % 7 === 3;
    if (fatal) {
      yield* runTry(sim, 0, 'threads', { errorClass: 'RuntimeError', message: `solver diverged at step ${s % 5}` });
      yield { type: 'task-state', runId, taskId: sim, tryId: 0, state: 'fail_retryable', time: t };
      yield* runTry(sim, 1, 'threads', { errorClass: 'RuntimeError', message: `solver diverged at step ${s % 5}` });
      yield { type: 'task-state', runId, taskId: sim, tryId: 1, state: 'failed', time: t };
      final('failed');
      if (out.examples.failed < 0) out.examples.failed = sim;
    } else if (retried) {
      yield* runTry(sim, 0, 'threads', { errorClass: 'ValueError', message: 'negative density in cell 3' });
      yield { type: 'task-state', runId, taskId: sim, tryId: 0, state: 'fail_retryable', time: t };
      yield* runTry(sim, 1, 'threads');
      yield { type: 'task-state', runId, taskId: sim, tryId: 1, state: 'exec_done', time: t };
      final('exec_done');
      if (out.examples.retried < 0) out.examples.retried = sim;
    } else {
      yield* runTry(sim, 0, 'threads');
      yield { type: 'task-state', runId, taskId: sim, tryId: 0, state: 'exec_done', time: t };
      final('exec_done');
    }

    // analyze: dep_fail after a failed simulate; memo hit every 11th
    const ana = id++;
    out.tasks++;
    analyzeIds.push(ana);
    yield { type: 'task-submitted', runId, taskId: ana, time: tick(), funcName: 'analyze', depends: [sim], memoize: true, hashsum: `h${s % 11 === 5 ? 'memo' : ana}`, argsSummary: `analyze(<future of task ${sim}>)` };
    yield { type: 'task-state', runId, taskId: ana, tryId: 0, state: 'pending', time: t };
    if (fatal) {
      yield { type: 'task-state', runId, taskId: ana, tryId: 0, state: 'dep_fail', time: tick() };
      final('dep_fail');
      if (out.examples.depFail < 0) out.examples.depFail = ana;
    } else if (s % 11 === 5) {
      yield { type: 'task-state', runId, taskId: ana, tryId: 0, state: 'memo_done', time: tick() };
      final('memo_done');
      if (out.examples.memo < 0) out.examples.memo = ana;
    } else {
      yield* runTry(ana, 0, 'threads');
      yield { type: 'task-state', runId, taskId: ana, tryId: 0, state: 'exec_done', time: t };
      final('exec_done');
    }
    tick(-15); // the next sample overlaps this one, as parallel tasks do
  }
  if (open > 0) return;
  const sum = id++;
  out.tasks++;
  out.examples.summarize = sum;
  yield { type: 'task-submitted', runId, taskId: sum, time: tick(), funcName: 'summarize', depends: analyzeIds.slice(0, 500), memoize: false, argsSummary: `summarize([${analyzeIds.length} futures])` };
  yield { type: 'task-state', runId, taskId: sum, tryId: 0, state: 'pending', time: t };
  yield { type: 'task-state', runId, taskId: sum, tryId: 0, state: 'dep_fail', time: tick() };
  final('dep_fail');
  yield { type: 'block', runId, time: tick(), executor: 'htex', blockId: '0', jobId: '4242', status: 'COMPLETED' };
  yield { type: 'workflow-end', runId, time: tick() };
}

export function emptyRun(): SyntheticRun {
  return { runId: '', tasks: 0, tries: 0, failedTries: { ValueError: 0, RuntimeError: 0 }, finalStates: {}, examples: undefined as never };
}
