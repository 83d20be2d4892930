// A restarted HTEX manager's blocks are not hit by what the previous state's blocks still had
// under way: a job status asked by an old block actor before the restart and answered after it
// (the old job, cancelled by the old state's stop) must not make the new state's block lost.
// The interleaving is forced: the provider holds that status question until the new state's
// block has registered. Before block actors were named per run, the answer went to the new
// block of the same id ("block 0 … is lost: its job … ended (cancelled by LocalProvider.cancel())").
// A loss the old state's block actor sends late must not fail the new block 0's tries either.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, clear, Config, dfk, HighThroughputExecutor, load, LocalProvider } from '../src/index.ts';
import type { JobStatus, SubmitOptions } from '../src/index.ts';
import { htexManager, send } from '../src/internal.ts';
import { deadline, waitFor } from './helpers.ts';

/** A LocalProvider that can hold one status question until the test lets it go. */
class GatedProvider extends LocalProvider {
  /** Job ids in the order they were submitted. */
  readonly submitted: string[] = [];
  /** Status questions asked about each job. */
  readonly asked = new Map<string, number>();
  #armed = false;
  #held: (() => void) | undefined;

  override async submit(command: string, tasksPerNode: number, jobName: string, options?: SubmitOptions): Promise<string> {
    const jobId = await super.submit(command, tasksPerNode, jobName, options);
    this.submitted.push(jobId);
    return jobId;
  }

  override async status(jobIds: string[]): Promise<JobStatus[]> {
    for (const id of jobIds) this.asked.set(id, (this.asked.get(id) ?? 0) + 1);
    if (this.#armed) {
      this.#armed = false;
      // Answered only once let go, and then as the job is at that moment.
      await new Promise<void>((resolve) => (this.#held = resolve));
    }
    return super.status(jobIds);
  }

  /** The next status question is held. */
  arm(): void {
    this.#armed = true;
  }

  get holding(): boolean {
    return this.#held !== undefined;
  }

  letGo(): void {
    this.#held?.();
    this.#held = undefined;
  }
}

const square = app((x: number) => x * x);

/** The messages of the PARSL_TS_BLOCK_LOST warnings emitted until `stop()`. */
function blockLostWarnings(): { lost: string[]; stop: () => void } {
  const lost: string[] = [];
  const onWarning = (warning: Error & { code?: string }): void => {
    if (warning.code === 'PARSL_TS_BLOCK_LOST') lost.push(warning.message);
  };
  process.on('warning', onWarning);
  return { lost, stop: () => process.off('warning', onWarning) };
}

test('restarts - a status answered after a restart for the old job does not make the new block of the same id lost', async () => {
  const provider = new GatedProvider({ initBlocks: 1, minBlocks: 0, maxBlocks: 1 });
  const { lost, stop } = blockLostWarnings();
  try {
    load(new Config({ executors: [new HighThroughputExecutor({ label: 'gated', provider, maxWorkersPerNode: 1, heartbeatPeriod: 200, heartbeatThreshold: 10_000 })] }));
    const before = htexManager(dfk(), 'gated');
    assert.equal(await deadline(square(3)), 9, 'the first state runs tasks');
    const oldJob = provider.submitted[0]!;
    provider.arm();
    await deadline(waitFor(() => provider.holding, 'the old block actor to ask about its job'));
    // A message the manager's receive cannot handle makes it throw: the DFK restarts it.
    send(dfk().executorManagers.get('gated') as never, { type: 'scale', decision: null } as never);
    await deadline(waitFor(() => htexManager(dfk(), 'gated') !== before, 'the manager to be restarted'));
    const after = htexManager(dfk(), 'gated');
    await deadline(waitFor(() => after.blocks()[0]?.phase === 'registered', 'the new state\'s block to register'));
    const newJob = provider.submitted[1]!;
    assert.is(provider.submitted.length, 2, 'one job per state');
    // The old job is cancelled by now: the held question is answered "cancelled".
    const askedBefore = provider.asked.get(newJob) ?? 0;
    provider.letGo();
    // Two more questions about the new job: the new block's actor handled what came before them.
    await deadline(waitFor(() => after.blocks()[0]?.phase !== 'registered' || (provider.asked.get(newJob) ?? 0) >= askedBefore + 2, 'the new block to poll its job twice more'));
    assert.is(after.blocks()[0]!.phase, 'registered', `the new block stays registered (${lost.join('; ')})`);
    assert.is.not(oldJob, newJob);
    // A loss an old block actor sends late (at the end of a drain, say) names a block 0 too: it
    // is the previous run's, and dropped. The tasks launched after it show it was handled.
    const oldRun = before.subjects.tasks.split('.')[1]!;
    send(dfk().executorManagers.get('gated') as never, { type: 'block-lost', run: oldRun, blockId: '0', reason: 'a late word of the old state' } as never);
    assert.equal(await deadline(Promise.all([square(4), square(5)])), [16, 25], 'the new state runs tasks');
    assert.equal(lost, [], 'no block was declared lost');
  } finally {
    stop();
    provider.letGo();
    await clear();
  }
});

test('restarts - a block actor that keeps crashing is stopped: its job is cancelled and its block given up on', async () => {
  const provider = new GatedProvider({ initBlocks: 1, minBlocks: 0, maxBlocks: 1 });
  const { lost, stop } = blockLostWarnings();
  try {
    load(new Config({ executors: [new HighThroughputExecutor({ label: 'crashing', provider, maxWorkersPerNode: 1, heartbeatPeriod: 200, heartbeatThreshold: 10_000 })] }));
    const manager = htexManager(dfk(), 'crashing');
    assert.equal(await deadline(square(3)), 9);
    // Its supervisor (the manager) finds the block by the actor that crashed, and counts.
    for (let i = 0; i < 3; i++) send(manager.blockActor('0') as never, { type: 'job-state', status: null } as never);
    await deadline(waitFor(() => manager.blocks()[0]?.phase === 'cancelled', 'the block actor to be stopped'));
    await deadline(waitFor(() => lost.length > 0, 'the block to be declared lost'));
    assert.match(lost[0]!, /block 0 of executor 'crashing' is lost: its actor crashed 3 times/);
    const job = provider.submitted[0]!;
    await deadline(waitFor(async () => (await provider.status([job]))[0]?.state === 'cancelled', 'its job to be cancelled'));
  } finally {
    stop();
    await clear();
  }
});

test.run();
