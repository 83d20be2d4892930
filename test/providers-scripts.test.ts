/**
 * Providers without their schedulers: the submit scripts they write, how they read scheduler
 * output, their option validation and their errors.
 *
 * A fake Channel stands in for the scheduler here, and only here: it records the commands and
 * files a provider sends and answers with scheduler output from test/fixtures/scheduler-output/.
 * The Slurm and Grid Engine fixtures were captured from real daemons on this machine; PBS Pro,
 * Torque, HTCondor, LSF, Cobalt and Kubernetes cannot run here, so their fixtures follow those
 * schedulers' documented output (see the fixtures' README). Slurm, Grid Engine and the local
 * provider are proven live in slurm.test.ts, gridengine.test.ts and local-provider.test.ts.
 */
import { rejects } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../src/common/errors.ts';
import type { Channel, ExecResult } from '../src/providers/channels/channel.ts';
import { ChannelTimeoutError } from '../src/providers/channels/errors.ts';
import { LocalChannel } from '../src/providers/channels/local.ts';
import { AdHocProvider } from '../src/providers/adhoc.ts';
import { CobaltProvider } from '../src/providers/cobalt.ts';
import { CondorProvider } from '../src/providers/condor.ts';
import { JobCancelError, JobStatusError, SubmitError } from '../src/providers/errors.ts';
import { GridEngineProvider, POLLS_WITHOUT_ACCOUNTING } from '../src/providers/gridengine.ts';
import { KubernetesProvider } from '../src/providers/kubernetes.ts';
import { MpiExecLauncher, SimpleLauncher, SrunLauncher } from '../src/providers/launchers/index.ts';
import { LocalProvider } from '../src/providers/local.ts';
import { LSFProvider } from '../src/providers/lsf.ts';
import { PBSProProvider } from '../src/providers/pbspro.ts';
import type { JobStatus } from '../src/providers/provider.ts';
import { SlurmProvider } from '../src/providers/slurm.ts';
import { TorqueProvider } from '../src/providers/torque.ts';

const FIXTURES = new URL('./fixtures/scheduler-output/', import.meta.url).pathname;
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const ok = (stdout: string, stderr = ''): ExecResult => ({ exitCode: 0, stdout, stderr });
const fail = (exitCode: number, stderr: string, stdout = ''): ExecResult => ({ exitCode, stdout, stderr });

type Route = [RegExp, ExecResult | ((command: string) => ExecResult)];

/** A channel that records what a provider sends and answers from fixtures. */
class FakeChannel implements Channel {
  readonly scriptDir = '/remote/scripts';
  readonly description = 'fake';
  readonly commands: string[] = [];
  readonly files = new Map<string, { content: string; mode: number | undefined }>();
  readonly dirs: string[] = [];
  failWrite: Error | undefined;
  failExec: Error | undefined;
  routes: Route[];
  constructor(routes: Route[] = []) {
    this.routes = routes;
  }
  async exec(command: string): Promise<ExecResult> {
    this.commands.push(command);
    if (this.failExec) throw this.failExec;
    for (const [pattern, answer] of this.routes) if (pattern.test(command)) return typeof answer === 'function' ? answer(command) : answer;
    throw new Error(`FakeChannel: no answer for command: ${command}`);
  }
  async push(localPath: string): Promise<string> {
    return localPath;
  }
  async pull(remotePath: string): Promise<string> {
    return remotePath;
  }
  async makeDirs(path: string): Promise<void> {
    this.dirs.push(path);
  }
  async writeFile(path: string, content: string, mode?: number): Promise<void> {
    if (this.failWrite) throw this.failWrite;
    this.files.set(path, { content, mode });
  }
  async close(): Promise<void> {}
  /** The only file written whose name ends with `suffix`. */
  file(suffix: string): { path: string; content: string; mode: number | undefined } {
    const found = [...this.files].filter(([path]) => path.endsWith(suffix));
    assert.is(found.length, 1, `one file ending in ${suffix}; written: ${[...this.files.keys()].join(', ')}`);
    return { path: found[0]![0], ...found[0]![1] };
  }
}

/** Answers a batch of per-job cancel commands (`<cmd> <id> 1>&2; echo "__parsl_cancel <i> $?"`); ids in `refuse` fail. */
function cancelAnswer(refuse: string[] = []): (command: string) => ExecResult {
  return (command) => {
    const lines = command.split('\n').map((line, i) => {
      const id = /(\S+) 1>&2; echo/.exec(line)?.[1] ?? '';
      return `__parsl_cancel ${i} ${refuse.includes(id) ? 1 : 0}`;
    });
    return ok(`${lines.join('\n')}\n`);
  };
}

/** Asserts that `needles` occur in `text` in this order, each as a whole line. */
function linesInOrder(text: string, needles: string[]): void {
  const lines = text.split('\n');
  let at = -1;
  for (const needle of needles) {
    const next = lines.findIndex((line, i) => i > at && line === needle);
    assert.ok(next > at, `line ${JSON.stringify(needle)} after line ${at + 1} in:\n${text}`);
    at = next;
  }
}

function bashSyntax(text: string): void {
  const check = spawnSync('bash', ['-n', '-c', text], { encoding: 'utf8' });
  assert.is(check.status, 0, `bash -n: ${check.stderr}`);
}

function configError(make: () => unknown, message: string | RegExp): void {
  try {
    make();
  } catch (error) {
    assert.instance(error, ConfigError);
    if (typeof message === 'string') assert.is((error as Error).message, message);
    else assert.match((error as Error).message, message);
    return;
  }
  assert.unreachable(`expected ConfigError ${String(message)}`);
}

const states = (statuses: JobStatus[]) => statuses.map((s) => [s.jobId, s.state, s.exitCode]);

// ---------------------------------------------------------------- Slurm

test('slurm script - header from options, schedulerOptions, env, workerInit, launcher-wrapped command', async () => {
  const channel = new FakeChannel([[/^sbatch --parsable /, ok(fixture('slurm-sbatch-parsable.txt'))]]);
  const p = new SlurmProvider({
    channel,
    partition: 'debug',
    account: 'proj42',
    qos: 'high',
    constraint: 'knl',
    coresPerNode: 8,
    memPerNode: 16,
    nodesPerBlock: 2,
    walltime: '01:30:00',
    schedulerOptions: '#SBATCH --gres=gpu:1',
    workerInit: ['module load python', 'source env/bin/activate'],
    launcher: new SrunLauncher(),
  });
  const jobId = await p.submit('process_worker_pool --port 5555', 4, 'block-0', { env: { PARSL_TOKEN: "s3 cr'et" } });
  assert.is(jobId, '2');
  const script = channel.file('.submit');
  assert.match(script.path, /^\/remote\/scripts\/block-0\.\d+\.[0-9a-f]{6}\.submit$/);
  assert.is(script.mode, 0o700);
  assert.equal(channel.dirs, ['/remote/scripts']);
  assert.equal(channel.commands, [`sbatch --parsable ${script.path}`]);
  const name = script.path.slice('/remote/scripts/'.length, -'.submit'.length);
  linesInOrder(script.content, [
    '#!/bin/bash',
    `#SBATCH --job-name=${name}`,
    `#SBATCH --output=/remote/scripts/${name}.submit.stdout`,
    `#SBATCH --error=/remote/scripts/${name}.submit.stderr`,
    '#SBATCH --nodes=2',
    '#SBATCH --time=01:30:00',
    '#SBATCH --ntasks-per-node=4',
    '#SBATCH --cpus-per-task=2',
    '#SBATCH --mem=16g',
    '#SBATCH --exclusive',
    '#SBATCH --partition=debug',
    '#SBATCH --account=proj42',
    '#SBATCH --qos=high',
    '#SBATCH --constraint=knl',
    '#SBATCH --gres=gpu:1',
    `export PARSL_TOKEN='s3 cr'\\''et'`,
    'module load python',
    'source env/bin/activate',
    `export JOBNAME=${name}`,
    'export PARSL_SCRIPT_DIR=/remote/scripts',
    "cat << 'PARSL_CMD_EOF' > \"$PARSL_CMD_FILE\"",
    'process_worker_pool --port 5555',
    'PARSL_CMD_EOF',
    'srun --ntasks=8 --ntasks-per-node=4 -l bash "$PARSL_CMD_FILE"',
  ]);
  bashSyntax(script.content);
  // Defaults: one node, ten minutes, exclusive, SingleNodeLauncher.
  const plain = new FakeChannel([[/^sbatch/, ok('Submitted batch job 1\n')]]);
  assert.is(await new SlurmProvider({ channel: plain }).submit('w', 2, 'b'), '1');
  const text = plain.file('.submit').content;
  for (const line of ['#SBATCH --nodes=1', '#SBATCH --time=00:10:00', '#SBATCH --ntasks-per-node=2', '#SBATCH --exclusive', 'PARSL_WORKERCOUNT=2']) {
    assert.ok(text.split('\n').includes(line), line);
  }
  assert.not.match(text, /--partition|--account|--qos|--mem|--cpus-per-task/);
});

test('slurm parse - sbatch output forms', async () => {
  const { parseSbatchOutput } = await import('../src/providers/slurm.ts');
  assert.is(parseSbatchOutput(fixture('slurm-sbatch.txt')), '1');
  assert.is(parseSbatchOutput(fixture('slurm-sbatch-parsable.txt')), '2');
  assert.is(parseSbatchOutput('17;cluster2\n'), '17');
  assert.is(parseSbatchOutput('sbatch: warning: can\'t honor --ntasks-per-node\nSubmitted batch job 99\n'), '99');
  assert.is(parseSbatchOutput('sbatch: error: Batch job submission failed\n'), undefined);
});

test('slurm status - squeue for queued jobs, scontrol for the ones that left, Parsl state mapping', async () => {
  const channel = new FakeChannel([
    [/^sbatch/, ok('77\n')],
    [/^squeue /, ok(fixture('slurm-squeue.txt'))],
    [/^scontrol /, ok(fixture('slurm-scontrol-show-job.txt').split(/(?=^JobId=3 )/m)[0]! + 'slurm_load_jobs error: Invalid job id specified\n')],
  ]);
  const p = new SlurmProvider({ channel });
  await p.submit('w', 1, 'vanishing'); // job 77: known, but gone from squeue and scontrol
  const statuses = await p.status(['1', '2', '3', '4', '5', '77', '88']);
  assert.equal(states(statuses), [
    ['1', 'completed', 0],
    ['2', 'failed', 3],
    ['3', 'running', undefined],
    ['4', 'running', undefined],
    ['5', 'pending', undefined],
    ['77', 'completed', undefined],
    ['88', 'unknown', undefined],
  ]);
  assert.is(statuses[1]!.message, 'NonZeroExitCode');
  assert.is(statuses[5]!.message, 'job left squeue and scontrol without a recorded failure');
  assert.match(statuses[6]!.message!, /not known to SlurmProvider 'slurm'/);
  assert.is(channel.commands[1], "squeue -h -o '%i %t' -j 1,2,3,4,5,77,88");
  assert.is(channel.commands[2], 'scontrol show job 1 2>&1; scontrol show job 2 2>&1; scontrol show job 77 2>&1; scontrol show job 88 2>&1');
  // Terminal jobs are not asked about again.
  channel.commands.length = 0;
  await p.status(['1', '2', '77']);
  assert.equal(channel.commands, []);
});

test('slurm status - every squeue state code maps as in Parsl', async () => {
  const codes: Record<string, string> = {
    PD: 'pending', CF: 'pending', R: 'running', CG: 'running', CD: 'completed', CA: 'cancelled',
    F: 'failed', NF: 'failed', OOM: 'failed', BF: 'failed', DL: 'failed', PR: 'failed', TO: 'timeout', S: 'held', ST: 'held', XX: 'unknown',
  };
  const ids = Object.keys(codes).map((_, i) => String(100 + i));
  const squeue = Object.keys(codes).map((code, i) => `${100 + i} ${code}`).join('\n');
  const p = new SlurmProvider({ channel: new FakeChannel([[/^squeue/, ok(squeue)], [/^scontrol/, ok('')]]) });
  const statuses = await p.status(ids);
  assert.equal(statuses.map((s) => s.state), Object.values(codes));
  assert.is(statuses.at(-1)!.message, 'unrecognised Slurm state code "XX"');
});

test('slurm status - squeue "Invalid job id" falls back to scontrol; a controller failure is JobStatusError', async () => {
  const gone = new FakeChannel([
    [/^squeue/, fail(1, 'slurm_load_jobs error: Invalid job id specified\n')],
    [/^scontrol/, ok(fixture('slurm-scontrol-show-job.txt'))],
  ]);
  assert.equal(states(await new SlurmProvider({ channel: gone }).status(['3'])), [['3', 'cancelled', 0]]);
  const down = new FakeChannel([[/^squeue/, fail(1, 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n')]]);
  await rejects(new SlurmProvider({ channel: down }).status(['3']), (e: unknown) => {
    assert.instance(e, JobStatusError);
    const err = e as JobStatusError;
    assert.is(err.message, "Cannot get the status of job(s) 3: squeue exited with code 1; stderr: slurm_load_jobs error: Unable to contact slurm controller (connect failure)");
    assert.is(err.command, "squeue -h -o '%i %t' -j 3");
    assert.is(err.exitCode, 1);
    assert.equal(err.jobIds, ['3']);
    return true;
  });
  const cut = new FakeChannel();
  cut.failExec = new ChannelTimeoutError('squeue', 10_000, 'fake');
  await rejects(new SlurmProvider({ channel: cut }).status(['3']), (e: unknown) => {
    assert.instance(e, JobStatusError);
    assert.is((e as Error).message, 'Cannot get the status of job(s) 3: could not run squeue through fake: command on fake did not finish within 10000 ms: squeue');
    assert.instance((e as Error).cause, ChannelTimeoutError);
    return true;
  });
});

test('slurm submit errors - one message per failure, with the evidence', async () => {
  // sbatch refuses the job (captured stderr of a bad partition).
  const refused = new FakeChannel([[/^sbatch/, fail(1, fixture('slurm-sbatch-bad-partition.stderr.txt'))]]);
  await rejects(new SlurmProvider({ channel: refused, partition: 'nosuch' }).submit('w', 1, 'blk'), (e: unknown) => {
    assert.instance(e, SubmitError);
    const err = e as SubmitError;
    assert.is(err.name, 'SubmitError');
    assert.match(err.message, /^Cannot submit job 'blk\.\d+\.[0-9a-f]{6}': sbatch exited with code 1; stderr: sbatch: error: invalid partition specified: nosuch\nsbatch: error: Batch job submission failed: Invalid partition name specified$/);
    assert.is(err.exitCode, 1);
    assert.is(err.stderr, fixture('slurm-sbatch-bad-partition.stderr.txt'));
    assert.match(err.command, /^sbatch --parsable \/remote\/scripts\/blk\./);
    assert.match(err.jobName, /^blk\./);
    return true;
  });
  // sbatch succeeds but prints no job id.
  const garbled = new FakeChannel([[/^sbatch/, ok('sbatch: warning: lua script says hi\n')]]);
  await rejects(new SlurmProvider({ channel: garbled }).submit('w', 1, 'blk'), (e: unknown) => {
    assert.instance(e, SubmitError);
    assert.match(
      (e as Error).message,
      /^Cannot submit job 'blk\.[^']+': sbatch exited with code 0 but its output holds no job id \(expected 'Submitted batch job <id>' or a bare id from --parsable\); stdout: "sbatch: warning: lua script says hi"$/,
    );
    assert.is((e as SubmitError).exitCode, 0);
    assert.is((e as SubmitError).stdout, 'sbatch: warning: lua script says hi\n');
    return true;
  });
  // The channel cannot run sbatch at all.
  const timeout = new FakeChannel();
  timeout.failExec = new ChannelTimeoutError('sbatch --parsable x', 10_000, 'fake');
  await rejects(new SlurmProvider({ channel: timeout }).submit('w', 1, 'blk'), (e: unknown) => {
    assert.instance(e, SubmitError);
    assert.match((e as Error).message, /^Cannot submit job 'blk\.[^']+': could not run sbatch through fake: command on fake did not finish within 10000 ms/);
    assert.instance((e as Error).cause, ChannelTimeoutError);
    assert.is((e as SubmitError).exitCode, undefined);
    return true;
  });
  // The script cannot be written.
  const full = new FakeChannel();
  full.failWrite = new Error('ENOSPC: no space left on device');
  await rejects(new SlurmProvider({ channel: full }).submit('w', 1, 'blk'), (e: unknown) => {
    assert.instance(e, SubmitError);
    assert.match((e as Error).message, /^Cannot submit job 'blk\.[^']+': could not write \/remote\/scripts\/blk\.[^ ]+\.submit through fake: ENOSPC: no space left on device$/);
    assert.is(((e as Error).cause as Error).message, 'ENOSPC: no space left on device');
    return true;
  });
  assert.equal(full.commands, [], 'nothing submitted when the script could not be written');
});

test('slurm cancel - per-job answers in one round trip; cancelled jobs stay cancelled', async () => {
  const channel = new FakeChannel([
    [/^sbatch/, ok('10\n')],
    [/__parsl_cancel/, cancelAnswer(['11'])],
  ]);
  const p = new SlurmProvider({ channel });
  await p.submit('w', 1, 'a');
  assert.equal(await p.cancel(['10', '11']), [true, false]);
  assert.is(channel.commands[1], 'scancel 10 1>&2; echo "__parsl_cancel 0 $?"\nscancel 11 1>&2; echo "__parsl_cancel 1 $?"');
  const [status] = await p.status(['10']);
  assert.is(status!.state, 'cancelled');
  assert.is(status!.message, 'cancelled by SlurmProvider.cancel()');
  assert.equal(await p.cancel([]), []);
  const broken = new FakeChannel();
  broken.failExec = new Error('connection reset');
  await rejects(new SlurmProvider({ channel: broken }).cancel(['5']), (e: unknown) => {
    assert.instance(e, JobCancelError);
    assert.is((e as Error).message, 'Cannot cancel job(s) 5: could not run scancel through fake: connection reset');
    return true;
  });
});

// ---------------------------------------------------------------- PBS Pro and Torque

test('pbspro script - select statement, walltime, queue, account; qsub command', async () => {
  const channel = new FakeChannel([[/^qsub /, ok(fixture('pbspro-qsub.txt'))]]);
  const p = new PBSProProvider({
    channel,
    queue: 'workq',
    account: 'ABC123',
    cpusPerNode: 32,
    selectOptions: 'ngpus=4',
    nodesPerBlock: 2,
    walltime: '2h',
    schedulerOptions: '#PBS -l filesystems=home:eagle',
    workerInit: 'module load conda',
    launcher: new MpiExecLauncher(),
  });
  assert.is(await p.submit('worker', 4, 'block-1'), '1234.pbs-head');
  const script = channel.file('.submit');
  assert.equal(channel.commands, [`qsub ${script.path}`]);
  const name = script.path.slice('/remote/scripts/'.length, -'.submit'.length);
  linesInOrder(script.content, [
    '#!/bin/bash',
    '#PBS -S /bin/bash',
    `#PBS -N ${name}`,
    '#PBS -m n',
    '#PBS -l walltime=02:00:00',
    '#PBS -l select=2:ncpus=32:ngpus=4',
    `#PBS -o /remote/scripts/${name}.submit.stdout`,
    `#PBS -e /remote/scripts/${name}.submit.stderr`,
    '#PBS -q workq',
    '#PBS -A ABC123',
    '#PBS -l filesystems=home:eagle',
    'module load conda',
    'worker',
  ]);
  assert.match(script.content, /^mpiexec -n 8 -ppn 4/m);
  bashSyntax(script.content);
});

test('pbspro status - qstat -x -f -F json: running, queued, finished ok/failed/walltime, held, vanished', async () => {
  const channel = new FakeChannel([
    [/^qsub/, ok('1240.pbs-head\n')],
    [/^qstat -x -f -F json /, fail(153, 'qstat: Unknown Job Id 1240.pbs-head\n', fixture('pbspro-qstat-f.json'))],
  ]);
  const p = new PBSProProvider({ channel });
  await p.submit('w', 1, 'gone');
  const statuses = await p.status(['1234.pbs-head', '1235', '1236.pbs-head', '1237.pbs-head', '1238.pbs-head', '1239.pbs-head', '1240.pbs-head']);
  assert.equal(states(statuses), [
    ['1234.pbs-head', 'running', undefined],
    ['1235', 'pending', undefined],
    ['1236.pbs-head', 'completed', 0],
    ['1237.pbs-head', 'failed', 3],
    ['1238.pbs-head', 'timeout', -29],
    ['1239.pbs-head', 'held', undefined],
    ['1240.pbs-head', 'completed', undefined],
  ]);
  assert.is(statuses[4]!.message, 'job killed: walltime 632 exceeded limit 600');
  assert.is(statuses[6]!.message, 'job left qstat without a recorded failure');
  assert.is(channel.commands[1], 'qstat -x -f -F json 1234.pbs-head 1235 1236.pbs-head 1237.pbs-head 1238.pbs-head 1239.pbs-head 1240.pbs-head');
});

test('pbspro status - falls back to the text form of qstat -f when -F json is not understood', async () => {
  const channel = new FakeChannel([
    [/^qstat -x -f -F json/, fail(2, "qstat: invalid option -- 'F'\n")],
    [/^qstat -x -f /, ok(fixture('pbspro-qstat-f.txt'))],
  ]);
  const statuses = await new PBSProProvider({ channel }).status(['1234.pbs-head', '1236.pbs-head']);
  assert.equal(states(statuses), [
    ['1234.pbs-head', 'running', undefined],
    ['1236.pbs-head', 'completed', 0],
  ]);
  const { parseQstatFullText } = await import('../src/providers/pbspro.ts');
  const fields = parseQstatFullText(fixture('pbspro-qstat-f.txt')).get('1234.pbs-head')!;
  assert.is(fields.Error_Path, 'login1.cluster:/home/alice/.parsl/parsl.block-0.1699956000.a1b2c3.submit.stderr');
  assert.is(fields.Variable_List, 'PBS_O_HOME=/home/alice,PBS_O_LOGNAME=alice,PBS_O_WORKDIR=/home/alice,PBS_O_SYSTEM=Linux,PBS_O_SHELL=/bin/bash,PBS_O_HOST=login1.cluster,PBS_O_QUEUE=workq');
});

test('torque script and status - nodes:ppn request, qstat -f with C/exit_status, unknown ids', async () => {
  const channel = new FakeChannel([
    [/^qsub /, ok(fixture('torque-qsub.txt'))],
    [/^qstat -f /, fail(153, fixture('torque-qstat-unknown.stderr.txt'), fixture('torque-qstat-f.txt'))],
  ]);
  const p = new TorqueProvider({ channel, queue: 'batch', account: 'lab', nodesPerBlock: 3, walltime: 45 * 60_000 });
  assert.is(await p.submit('worker', 2, 'blk'), '4567.torque-head.cluster.local');
  const script = channel.file('.submit').content;
  linesInOrder(script, ['#PBS -S /bin/bash', '#PBS -l walltime=00:45:00', '#PBS -l nodes=3:ppn=2', '#PBS -q batch', '#PBS -A lab', 'PARSL_WORKERCOUNT=6']);
  const statuses = await p.status(['4567.torque-head.cluster.local', '4568', '4569.torque-head.cluster.local', '4570.torque-head.cluster.local', '4999.torque-head.cluster.local']);
  assert.equal(states(statuses), [
    ['4567.torque-head.cluster.local', 'running', undefined],
    ['4568', 'pending', undefined],
    ['4569.torque-head.cluster.local', 'completed', 0],
    ['4570.torque-head.cluster.local', 'failed', 271],
    ['4999.torque-head.cluster.local', 'unknown', undefined],
  ]);
  assert.is(channel.commands[1], 'qstat -f 4567.torque-head.cluster.local 4568 4569.torque-head.cluster.local 4570.torque-head.cluster.local 4999.torque-head.cluster.local');
  const down = new FakeChannel([[/^qstat/, fail(1, 'Communication failure.\nqstat: cannot connect to server torque-head (errno=111) Connection refused\n')]]);
  await rejects(new TorqueProvider({ channel: down }).status(['1']), (e: unknown) => e instanceof JobStatusError && /qstat exited with code 1; stderr: Communication failure\./.test((e as Error).message));
});

// ---------------------------------------------------------------- HTCondor

test('condor submit - a submit description beside the script; schedulerOptions in the description', async () => {
  const channel = new FakeChannel([[/^condor_submit /, ok(fixture('condor-submit.txt'))]]);
  const p = new CondorProvider({
    channel,
    nodesPerBlock: 2,
    coresPerSlot: 4,
    memPerSlot: 2,
    environment: { OMP_NUM_THREADS: '4', NOTE: "it's \"fine\"" },
    project: 'astro',
    requirements: 'OpSysMajorVer == 8',
    transferInputFiles: ['env.tar.gz', 'setup.sh'],
    walltime: '00:30:00',
    schedulerOptions: '+WantGPU = true',
    workerInit: 'tar xzf env.tar.gz',
  });
  assert.is(await p.submit('worker', 1, 'blk'), '42');
  const script = channel.file('.submit');
  const description = channel.file('.condor');
  assert.equal(channel.commands, [`condor_submit ${description.path}`]);
  assert.is(script.mode, 0o700);
  assert.not.match(script.content, /WantGPU/);
  const name = script.path.slice('/remote/scripts/'.length, -'.submit'.length);
  assert.is(
    description.content,
    [
      'universe = vanilla',
      `executable = /remote/scripts/${name}.submit`,
      `output = /remote/scripts/${name}.submit.stdout`,
      `error = /remote/scripts/${name}.submit.stderr`,
      `log = /remote/scripts/${name}.condor.log`,
      'request_cpus = 4',
      'request_memory = 2048',
      'should_transfer_files = IF_NEEDED',
      'when_to_transfer_output = ON_EXIT',
      'transfer_input_files = env.tar.gz, setup.sh',
      `environment = "OMP_NUM_THREADS='4' NOTE='it''s ""fine""'"`,
      'requirements = OpSysMajorVer == 8',
      '+ProjectName = "astro"',
      'periodic_remove = (JobStatus == 2) && ((time() - EnteredCurrentStatus) > 1800)',
      '+WantGPU = true',
      'queue 2',
      '',
    ].join('\n'),
  );
  linesInOrder(script.content, ['#!/bin/bash', 'tar xzf env.tar.gz', `export JOBNAME=${name}`, 'PARSL_WORKERCOUNT=2']);
});

test('condor status - condor_q, then condor_history for clusters that left the queue', async () => {
  const channel = new FakeChannel([
    [/^condor_submit/, ok('1 job(s) submitted to cluster 46.\n')],
    [/^condor_q /, ok(fixture('condor-q-af.txt'))],
    [/^condor_history /, ok(fixture('condor-history-af.txt'))],
  ]);
  const p = new CondorProvider({ channel });
  await p.submit('w', 1, 'gone');
  const statuses = await p.status(['42', '43', '44', '45', '40', '41', '46']);
  assert.equal(states(statuses), [
    ['42', 'running', undefined],
    ['43', 'held', undefined],
    ['44', 'timeout', undefined],
    ['45', 'cancelled', undefined],
    ['40', 'completed', 0],
    ['41', 'failed', 2],
    ['46', 'completed', undefined],
  ]);
  assert.match(statuses[1]!.message!, /^Error from slot1_3@worker3\.example\.org: Failed to execute/);
  assert.is(statuses[3]!.message, 'via condor_rm (by user alice)');
  assert.is(channel.commands[1], 'condor_q 42 43 44 45 40 41 46 -af:jt JobStatus ExitCode RemoveReason HoldReason');
  assert.is(channel.commands[2], 'condor_history 40 41 46 -af:jt JobStatus ExitCode RemoveReason HoldReason');
});

// ---------------------------------------------------------------- Grid Engine

test('gridengine script - directives, queue, parallel environment; qsub -terse', async () => {
  const channel = new FakeChannel([[/^qsub -terse /, ok(fixture('gridengine-qsub-terse.txt'))]]);
  const p = new GridEngineProvider({ channel, queue: 'all.q', parallelEnvironment: 'smp', walltime: '3h', nodesPerBlock: 1, workerInit: 'conda activate parsl' });
  assert.is(await p.submit('worker', 4, 'blk'), '1');
  const script = channel.file('.submit');
  assert.equal(channel.commands, [`qsub -terse ${script.path}`]);
  const name = script.path.slice('/remote/scripts/'.length, -'.submit'.length);
  linesInOrder(script.content, [
    '#!/bin/bash',
    '#$ -S /bin/bash',
    `#$ -N ${name}`,
    `#$ -o /remote/scripts/${name}.submit.stdout`,
    `#$ -e /remote/scripts/${name}.submit.stderr`,
    '#$ -cwd',
    '#$ -l h_rt=03:00:00',
    '#$ -q all.q',
    '#$ -pe smp 4',
    'conda activate parsl',
    'PARSL_WORKERCOUNT=4',
  ]);
  const { parseQsubTerse } = await import('../src/providers/gridengine.ts');
  assert.is(parseQsubTerse(fixture('gridengine-qsub.txt')), '2');
  assert.is(parseQsubTerse('7.1-10:1\n'), '7');
});

test('gridengine status - qstat plain and -xml (captured: r, qw, hqw, Eqw, dr) and qacct for finished jobs', async () => {
  const { parseGridEngineQstat, parseGridEngineQstatXml } = await import('../src/providers/gridengine.ts');
  const expected = new Map([
    ['22', 'r'],
    ['23', 'dr'],
    ['21', 'Eqw'],
    ['20', 'hqw'],
  ]);
  assert.equal(parseGridEngineQstat(fixture('gridengine-qstat-states.txt')), expected);
  assert.equal(parseGridEngineQstatXml(fixture('gridengine-qstat-states.xml')), expected);
  assert.equal(parseGridEngineQstat(fixture('gridengine-qstat.txt')), parseGridEngineQstatXml(fixture('gridengine-qstat.xml')));

  const channel = new FakeChannel([
    [/^qstat -xml$/, ok(fixture('gridengine-qstat-states.xml'))],
    [/^qacct /, ok(`${fixture('gridengine-qacct.txt')}error: job id 99 not found\n`)],
  ]);
  const p = new GridEngineProvider({ channel });
  const statuses = await p.status(['22', '23', '21', '20', '1', '3', '4', '99']);
  assert.equal(states(statuses), [
    ['22', 'running', undefined],
    ['23', 'cancelled', undefined],
    ['21', 'failed', undefined],
    ['20', 'held', undefined],
    ['1', 'completed', 0],
    ['3', 'failed', 3],
    ['4', 'failed', 137],
    ['99', 'unknown', undefined],
  ]);
  assert.is(statuses[2]!.message, "Grid Engine state 'Eqw'");
  assert.is(statuses[5]!.message, 'exit status 3');
  assert.is(statuses[6]!.message, 'failed 100 : assumedly after job');
  assert.is(channel.commands[1], 'qacct -j 1 2>&1; qacct -j 3 2>&1; qacct -j 4 2>&1; qacct -j 99 2>&1');
});

test('gridengine status - a job missing from qstat and qacct keeps its state for a few polls, then counts as completed', async () => {
  const channel = new FakeChannel([
    [/^qsub/, ok('31\n')],
    [/^qstat -xml$/, ok("<?xml version='1.0'?>\n<job_info>\n  <queue_info>\n  </queue_info>\n  <job_info>\n  </job_info>\n</job_info>\n")],
    [/^qacct /, fail(1, '', 'error: job id 31 not found\n')],
  ]);
  const p = new GridEngineProvider({ channel });
  await p.submit('w', 1, 'blk');
  for (let i = 1; i < POLLS_WITHOUT_ACCOUNTING; i++) {
    const [s] = await p.status(['31']);
    assert.is(s!.state, 'pending');
    assert.is(s!.message, 'left qstat; waiting for its accounting record');
  }
  const [last] = await p.status(['31']);
  assert.is(last!.state, 'completed');
  assert.is(last!.message, `left qstat and no accounting record appeared in ${POLLS_WITHOUT_ACCOUNTING} polls`);
});

// ---------------------------------------------------------------- LSF

test('lsf script - nodes or cores, walltime in minutes, queue, project; bsub with or without redirection', async () => {
  const channel = new FakeChannel([[/^bsub /, ok(fixture('lsf-bsub.txt'))]]);
  const p = new LSFProvider({ channel, queue: 'batch', project: 'CSC123', nodesPerBlock: 2, walltime: '01:30:00' });
  assert.is(await p.submit('worker', 1, 'blk'), '12345');
  const script = channel.file('.submit');
  assert.equal(channel.commands, [`bsub ${script.path}`]);
  const name = script.path.slice('/remote/scripts/'.length, -'.submit'.length);
  linesInOrder(script.content, [
    `#BSUB -J ${name}`,
    '#BSUB -W 90',
    `#BSUB -o /remote/scripts/${name}.submit.stdout`,
    `#BSUB -e /remote/scripts/${name}.submit.stderr`,
    '#BSUB -nnodes 2',
    '#BSUB -q batch',
    '#BSUB -P CSC123',
  ]);
  const byCores = new FakeChannel([[/^bsub < /, ok(fixture('lsf-bsub.txt'))]]);
  await new LSFProvider({ channel: byCores, requestByNodes: false, coresPerNode: 16, nodesPerBlock: 2, bsubRedirection: true }).submit('w', 1, 'b');
  linesInOrder(byCores.file('.submit').content, ['#BSUB -n 32', '#BSUB -R "span[ptile=16]"']);
  assert.match(byCores.commands[0]!, /^bsub < \/remote\/scripts\//);
});

test('lsf status - bjobs -a (multi-host continuation lines), unknown ids', async () => {
  const channel = new FakeChannel([
    [/^bsub/, ok('Job <12350> is submitted to default queue <normal>.\n')],
    [/^bjobs -a /, fail(255, fixture('lsf-bjobs-unknown.stderr.txt'), fixture('lsf-bjobs.txt'))],
  ]);
  const p = new LSFProvider({ channel });
  await p.submit('w', 1, 'gone');
  const statuses = await p.status(['12345', '12346', '12347', '12348', '12349', '12350', '99999']);
  assert.equal(states(statuses), [
    ['12345', 'running', undefined],
    ['12346', 'pending', undefined],
    ['12347', 'completed', undefined],
    ['12348', 'failed', undefined],
    ['12349', 'held', undefined],
    ['12350', 'completed', undefined],
    ['99999', 'unknown', undefined],
  ]);
});

// ---------------------------------------------------------------- Cobalt

test('cobalt submit and status - nodes/minutes/queue/project on the qsub line; AprunLauncher by default', async () => {
  const channel = new FakeChannel([
    [/^qsub /, ok(fixture('cobalt-qsub.txt'), 'Job routed to queue "debug-cache-quad".\n')],
    [/^qstat -u "\$USER"$/, ok(fixture('cobalt-qstat.txt'))],
  ]);
  const p = new CobaltProvider({ channel, nodesPerBlock: 2, walltime: '01:30:00', queue: 'debug-cache-quad', account: 'proj', workerInit: 'module load miniconda' });
  assert.is(await p.submit('worker', 64, 'blk'), '345678');
  const script = channel.file('.submit');
  assert.is(channel.commands[0], `qsub -n 2 -t 90 -q debug-cache-quad -A proj ${script.path}`);
  assert.match(script.content, /^#COBALT -o \/remote\/scripts\/.+\.submit\.stdout$/m);
  assert.match(script.content, /^aprun -n 128 -N 64 \/bin\/bash "\$PARSL_CMD_FILE"$/m);
  const statuses = await p.status(['345678', '345679', '345680', '345681']);
  assert.equal(states(statuses), [
    ['345678', 'running', undefined],
    ['345679', 'pending', undefined],
    ['345680', 'held', undefined],
    ['345681', 'running', undefined],
  ]);
});

// ---------------------------------------------------------------- Kubernetes

test('kubernetes submit - a pod manifest written through the channel, kubectl create', async () => {
  const channel = new FakeChannel([[/^kubectl create -f /, ok(fixture('kubectl-create.txt'))]]);
  const p = new KubernetesProvider({
    channel,
    image: 'ghcr.io/alice/worker:1',
    namespace: 'science',
    maxCpu: 2,
    maxMem: '2Gi',
    secret: 'regcred',
    serviceAccountName: 'parsl',
    persistentVolumes: [['data-claim', '/data']],
    workerInit: 'source /opt/env.sh',
  });
  assert.is(await p.submit('worker --port 1', 1, 'block-0', { env: { NATS_TOKEN: 'tok' } }), 'parsl-block-0-1699956000-a1b2c3');
  const manifestFile = channel.file('.pod.json');
  assert.is(manifestFile.mode, 0o600);
  assert.is(channel.commands[0], `kubectl create -f ${manifestFile.path} -o name`);
  const manifest = JSON.parse(manifestFile.content);
  assert.is(manifest.kind, 'Pod');
  assert.match(manifest.metadata.name, /^parsl-block-0-\d+-[0-9a-f]{6}$/);
  assert.is(manifest.metadata.namespace, 'science');
  assert.is(manifest.metadata.labels.app, 'parsl-ts');
  assert.is(manifest.spec.restartPolicy, 'Never');
  assert.equal(manifest.spec.imagePullSecrets, [{ name: 'regcred' }]);
  assert.is(manifest.spec.serviceAccountName, 'parsl');
  assert.equal(manifest.spec.volumes, [{ name: 'volume-0-data-claim', persistentVolumeClaim: { claimName: 'data-claim' } }]);
  const [container] = manifest.spec.containers;
  assert.is(container.image, 'ghcr.io/alice/worker:1');
  assert.equal(container.command, ['/bin/bash']);
  assert.equal(container.env, [{ name: 'NATS_TOKEN', value: 'tok' }]);
  assert.equal(container.resources, { requests: { cpu: '1', memory: '250Mi' }, limits: { cpu: '2', memory: '2Gi' } });
  assert.equal(container.volumeMounts, [{ name: 'volume-0-data-claim', mountPath: '/data' }]);
  linesInOrder(container.args[1], ['source /opt/env.sh', 'export PARSL_SCRIPT_DIR=/tmp', 'worker --port 1']);
  const { podNameFor } = await import('../src/providers/kubernetes.ts');
  const long = podNameFor('parsl', `Very_Long.Name-${'x'.repeat(80)}.1699956000.a1b2c3`);
  assert.ok(long.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(long), long);
  assert.match(long, /1699956000-a1b2c3$/);
});

test('kubernetes status - pod phases, waiting reasons, exit codes; deleted pods; kubectl failures', async () => {
  const channel = new FakeChannel([
    [/^kubectl create/, ok('pod/parsl-deleted-1\n')],
    [/^kubectl get pods --namespace science -o json --ignore-not-found /, ok(fixture('kubectl-get-pods.json'))],
  ]);
  const p = new KubernetesProvider({ channel, image: 'x', namespace: 'science' });
  await p.submit('w', 1, 'deleted');
  const ids = ['parsl-block-0-1699956000-a1b2c3', 'parsl-block-1-1699956060-d4e5f6', 'parsl-block-2-1699955000-0a0b0c', 'parsl-block-3-1699955001-1a1b1c', 'parsl-deleted-1'];
  const statuses = await p.status(ids);
  assert.equal(states(statuses), [
    [ids[0], 'running', undefined],
    [ids[1], 'pending', undefined],
    [ids[2], 'completed', 0],
    [ids[3], 'failed', 137],
    [ids[4], 'cancelled', undefined],
  ]);
  assert.is(statuses[1]!.message, 'ImagePullBackOff: Back-off pulling image "ghcr.io/alice/worker:typo"');
  assert.is(statuses[3]!.message, 'OOMKilled');
  assert.is(statuses[4]!.message, 'the pod no longer exists: it was deleted outside this provider');
  const { parseKubectlPods } = await import('../src/providers/kubernetes.ts');
  const list = JSON.parse(fixture('kubectl-get-pods.json'));
  assert.equal([...parseKubectlPods(JSON.stringify(list.items[2])).keys()], [ids[2]], 'a single Pod object');
  assert.is(parseKubectlPods('').size, 0);
  const refused = new FakeChannel([[/^kubectl get/, fail(1, 'error: You must be logged in to the server (Unauthorized)\n')]]);
  await rejects(new KubernetesProvider({ channel: refused, image: 'x' }).status(['a']), (e: unknown) => e instanceof JobStatusError && /kubectl get pods exited with code 1; stderr: error: You must be logged in/.test((e as Error).message));
  const cancel = new FakeChannel([[/__parsl_cancel/, cancelAnswer()]]);
  assert.equal(await new KubernetesProvider({ channel: cancel, image: 'x', namespace: 'science' }).cancel(['p1']), [true]);
  assert.is(cancel.commands[0], 'kubectl delete pod --namespace science --wait=false p1 1>&2; echo "__parsl_cancel 0 $?"');
});

// ---------------------------------------------------------------- AdHoc and Local (through fake channels)

test('adhoc - one block per host, round robin; host:pid ids; probes per host; no free host is a SubmitError', async () => {
  const host = (pid: number, probe: string) =>
    new FakeChannel([
      [/__parsl_pid/, ok(`__parsl_pid ${pid}\n`)],
      [/__parsl_job/, ok(probe)],
    ]);
  const h1 = host(100, '__parsl_job 0 X 0\n');
  const h2 = host(200, '__parsl_job 0 R\n');
  const p = new AdHocProvider({ hosts: [{ name: 'node1', channel: h1 }, { name: 'node2', channel: h2 }], workerInit: 'cd /scratch' });
  assert.is(p.options.maxBlocks, 2);
  assert.is(await p.submit('worker', 1, 'blk'), 'node1:100');
  assert.is(await p.submit('worker', 1, 'blk'), 'node2:200');
  await rejects(p.submit('worker', 1, 'blk'), (e: unknown) => e instanceof SubmitError && /^Cannot submit job 'blk': all 2 host\(s\) run a block already \(node1, node2\); an AdHocProvider runs one block per host$/.test((e as Error).message));
  assert.match(h1.file('.submit').content, /^cd \/scratch$/m);
  assert.match(h1.file('.submit').content, /^worker$/m);
  assert.match(h1.commands[0]!, /nohup \$PARSL_SETSID bash -c /);
  const statuses = await p.status(['node1:100', 'node2:200']);
  assert.equal(states(statuses), [
    ['node1:100', 'completed', 0],
    ['node2:200', 'running', undefined],
  ]);
  // node1 is free again.
  h1.routes.unshift([/__parsl_pid/, ok('__parsl_pid 101\n')]);
  assert.is(await p.submit('worker', 1, 'blk'), 'node1:101');
});

test('local provider (fake channel) - start output without a pid, and a failing start shell, are SubmitErrors', async () => {
  const silent = new FakeChannel([[/__parsl_pid/, ok('')]]);
  await rejects(new LocalProvider({ channel: silent }).submit('w', 1, 'blk'), (e: unknown) => e instanceof SubmitError && /: the shell that starts the job on fake printed no pid$/.test((e as Error).message));
  const broken = new FakeChannel([[/__parsl_pid/, fail(126, 'bash: /remote/scripts: Permission denied\n')]]);
  await rejects(
    new LocalProvider({ channel: broken }).submit('w', 1, 'blk'),
    (e: unknown) => e instanceof SubmitError && /: the shell that starts the job on fake exited with code 126; stderr: bash: \/remote\/scripts: Permission denied$/.test((e as Error).message),
  );
});

// ---------------------------------------------------------------- option validation

test('options - common defaults and walltime forms', () => {
  const p = new SlurmProvider();
  assert.is(p.label, 'slurm');
  assert.instance(p.channel, LocalChannel);
  const o = p.options;
  assert.equal(
    [o.nodesPerBlock, o.initBlocks, o.minBlocks, o.maxBlocks, o.parallelism, o.walltimeMs, o.workerInit, o.schedulerOptions, o.cmdTimeoutMs, o.launcher.name],
    [1, 1, 0, 1, 1, 600_000, '', '', 10_000, 'SingleNodeLauncher'],
  );
  for (const walltime of ['01:30:00', '90m', '1.5h', 5_400_000]) assert.is(new SlurmProvider({ walltime }).options.walltimeMs, 5_400_000);
  assert.is(new LocalProvider().options.walltimeMs, undefined);
  assert.is(new CobaltProvider().options.launcher.name, 'AprunLauncher');
  assert.is(new AdHocProvider({ hosts: [{ name: 'h', channel: new FakeChannel() }] }).options.launcher.name, 'SimpleLauncher');
  assert.is(new SlurmProvider({ cmdTimeout: '30s', label: 'theta' }).options.cmdTimeoutMs, 30_000);
  assert.is(new SlurmProvider({ launcher: new SimpleLauncher() }).options.launcher.name, 'SimpleLauncher');
});

test('options - contradictions name both options', () => {
  configError(() => new SlurmProvider({ minBlocks: 3, maxBlocks: 2 }), 'SlurmProvider.minBlocks: minBlocks (3) is greater than maxBlocks (2); minBlocks must not exceed maxBlocks');
  configError(
    () => new PBSProProvider({ minBlocks: 1, initBlocks: 0 }),
    'PBSProProvider.initBlocks: initBlocks (0) is less than minBlocks (1); initBlocks must lie between minBlocks and maxBlocks',
  );
  configError(
    () => new LocalProvider({ initBlocks: 5, maxBlocks: 2 }),
    'LocalProvider.initBlocks: initBlocks (5) is greater than maxBlocks (2); initBlocks must lie between minBlocks and maxBlocks',
  );
  configError(() => new CobaltProvider({ project: 'a', account: 'b' }), 'CobaltProvider.project: project and account are two names for the same option and were given different values');
  assert.is(new CobaltProvider({ account: 'b' }).options.project, 'b');
  configError(() => new LSFProvider({ requestByNodes: false }), 'LSFProvider.coresPerNode: requestByNodes is false, so coresPerNode is required (blocks are requested by cores)');
  const h = new FakeChannel();
  configError(
    () => new AdHocProvider({ hosts: [{ name: 'a', channel: h }], maxBlocks: 2 }),
    'AdHocProvider.maxBlocks: maxBlocks (2) is greater than the number of hosts (1); each host runs one block at a time',
  );
  configError(
    () => new AdHocProvider({ hosts: [{ name: 'a', channel: h }, { name: 'a', channel: h }] }),
    "AdHocProvider.hosts[1].name: 'a' names two hosts; host names must be unique",
  );
});

test('options - wrong types, ranges and unknown options give the path, the rule and the value', () => {
  configError(() => new SlurmProvider({ partiton: 'debug' } as never), "SlurmProvider: unknown option 'partiton'");
  configError(() => new SlurmProvider({ parallelism: 1.5 }), 'SlurmProvider.parallelism: Too big: expected number to be <=1; got 1.5');
  configError(() => new SlurmProvider({ nodesPerBlock: 0 }), 'SlurmProvider.nodesPerBlock: Too small: expected number to be >0; got 0');
  configError(() => new TorqueProvider({ maxBlocks: 2.5 }), 'TorqueProvider.maxBlocks: Invalid input: expected int, received number; got 2.5');
  configError(
    () => new SlurmProvider({ walltime: 'soon' }),
    "SlurmProvider.walltime: expected a positive walltime: 'HH:MM:SS', a duration such as '30m' or '2h', or milliseconds; got 'soon'",
  );
  configError(() => new SlurmProvider({ channel: {} as never }), 'SlurmProvider.channel: expected a channel such as new LocalChannel(); got {}');
  configError(() => new SlurmProvider({ launcher: 'srun' as never }), "SlurmProvider.launcher: expected a launcher such as new SrunLauncher(); got 'srun'");
  configError(() => new SlurmProvider({ exclusive: 'yes' as never }), /^SlurmProvider\.exclusive: .*boolean.*; got 'yes'$/);
  configError(() => new SlurmProvider({ cmdTimeout: -1 }), /^SlurmProvider\.cmdTimeout: expected a positive duration.*; got -1$/);
  configError(() => new KubernetesProvider({ image: 'x', nodesPerBlock: 2 as never }), 'KubernetesProvider.nodesPerBlock: a Kubernetes block is one pod: nodesPerBlock must be 1; got 2');
  configError(() => new KubernetesProvider({} as never), 'KubernetesProvider.image: Invalid input: expected string, received undefined; got nothing');
  configError(() => new KubernetesProvider({ image: 'x', podName: 'Bad_Name' }), "KubernetesProvider.podName: expected a DNS-1123 label: lower-case letters, digits and dashes; got 'Bad_Name'");
  configError(() => new CondorProvider({ environment: { 'A-B': '1' } }), 'CondorProvider.environment: "A-B" is not a valid environment variable name');
  configError(() => new AdHocProvider({ hosts: [] }), 'AdHocProvider.hosts: expected at least one host; got []');
  configError(
    () => new AdHocProvider({ hosts: [{ name: 'a', channel: new FakeChannel() }], channel: new FakeChannel() } as never),
    /^AdHocProvider\.channel: AdHocProvider takes one channel per host in hosts\[\]\.channel, not a channel option; got /,
  );
});

test('submit arguments - rejected, not thrown', async () => {
  const p = new SlurmProvider({ channel: new FakeChannel() });
  const pending = p.submit('w', 1.5, 'blk');
  assert.instance(pending, Promise);
  await rejects(pending, (e: unknown) => e instanceof ConfigError && e.message === 'SlurmProvider.submit(tasksPerNode): expected a positive integer; got 1.5');
});

test.run();
