/**
 * Blocks as background processes on a host reached through a channel (LocalProvider,
 * AdHocProvider): the shell text that starts a script detached in its own session and records
 * its exit code in a file, probes whether it still runs, and kills its process group.
 */
import type { Channel } from './channels/channel.ts';
import { BaseProvider, type JobRecord, type StatusUpdate } from './cluster.ts';
import { JobStatusError, SubmitError } from './errors.ts';
import type { ResolvedProviderOptions, SubmitOptions } from './provider.ts';
import { shellQuote } from '../common/shell-quote.ts';

/**
 * Starts `scriptPath` in the background, in a new session (so that its process group can be
 * killed as a whole), with stdout/stderr in files and stdin from /dev/null, and prints its pid
 * (which is also its process group id). A wrapper shell waits for the script, then ends whatever
 * the script left running in the group and writes the exit code to `exitFile` (through a rename,
 * so a reader never sees half a number). With `walltimeMs`, a watcher in the group marks
 * `<exitFile>.walltime` and terminates the group when the time is up. (`timeout(1)` would not
 * do: it moves the script into a process group of its own, out of reach of `cancel`.)
 */
export function startCommand(paths: { scriptPath: string; stdoutPath: string; stderrPath: string; exitFile: string }, walltimeMs?: number): string {
  const seconds = walltimeMs === undefined ? 0 : Math.max(1, Math.ceil(walltimeMs / 1000));
  const runner = [
    'bash "$0" > "$1" 2> "$2" < /dev/null & PARSL_CHILD=$!',
    'if [ "$4" -gt 0 ]; then ( sleep "$4"; : > "$3.walltime"; kill -TERM -- -$$ ) > /dev/null 2>&1 < /dev/null & fi',
    'wait "$PARSL_CHILD"; PARSL_RC=$?',
    'trap "" TERM; kill -TERM -- -$$ 2> /dev/null',
    'echo "$PARSL_RC" > "$3.tmp" && mv "$3.tmp" "$3"',
  ].join('\n');
  const args = [paths.scriptPath, paths.stdoutPath, paths.stderrPath, paths.exitFile, String(seconds)].map(shellQuote).join(' ');
  return [
    `rm -f ${shellQuote(paths.exitFile)} ${shellQuote(`${paths.exitFile}.walltime`)}`,
    // Without setsid (macOS) the job shares this shell's process group; cancel falls back to its pid.
    'if command -v setsid > /dev/null 2>&1; then PARSL_SETSID=setsid; else PARSL_SETSID=; fi',
    `nohup $PARSL_SETSID bash -c ${shellQuote(runner)} ${args} > /dev/null 2>&1 < /dev/null &`,
    'echo "__parsl_pid $!"',
  ].join('\n');
}

/** The pid printed by `startCommand`'s text. */
export function parseStartOutput(stdout: string): number | undefined {
  const match = /^__parsl_pid (\d+)$/m.exec(stdout);
  return match ? Number(match[1]) : undefined;
}

/**
 * Shell text that is true while `pid` is a live process (not a zombie) started by
 * `startCommand` for the job whose exit code goes to `exitFile`: its wrapper's arguments name
 * that file. A job killed with its wrapper leaves no exit code, and its pid may by then be
 * another process's (Linux reuses pids, every 32,768 by default): that one is not the job.
 */
function jobAlive(pid: number, exitFile: string): string {
  return `{ ${processAlive(pid)} && ${namesFile(pid, exitFile)}; }`;
}

/** Shell text: true while `pid` is a live process, not a zombie. */
function processAlive(pid: number): string {
  return `kill -0 ${pid} 2> /dev/null && [ "$(ps -o stat= -p ${pid} 2> /dev/null | tr -d ' ' | cut -c1)" != Z ]`;
}

/** Shell text: true if the arguments of process `pid` name `exitFile` (startCommand's wrapper does). */
function namesFile(pid: number, exitFile: string): string {
  return `ps -ww -o args= -p ${pid} 2> /dev/null | grep -qF -- ${shellQuote(exitFile)}`;
}

/**
 * Shell text that reports, for each job, `X <code>` (ended; its exit code), `R` (running),
 * `T` (killed at its walltime) or `G` (gone without an exit code: killed). A zombie counts as
 * gone, and so does a process that took a killed job's pid.
 */
export function probeCommand(jobs: Array<{ pid: number; exitFile: string }>): string {
  return jobs
    .map(({ pid, exitFile }, i) => {
      const file = shellQuote(exitFile);
      return [
        `if [ -s ${file} ]; then echo "__parsl_job ${i} X $(cat ${file})";`,
        `elif ${jobAlive(pid, exitFile)}; then echo "__parsl_job ${i} R";`,
        // It may have ended between the two checks.
        `elif [ -s ${file} ]; then echo "__parsl_job ${i} X $(cat ${file})";`,
        `elif [ -e ${shellQuote(`${exitFile}.walltime`)} ]; then echo "__parsl_job ${i} T";`,
        `else echo "__parsl_job ${i} G"; fi`,
      ].join(' ');
    })
    .join('\n');
}

/** Reads `probeCommand`'s output into a status per job index. */
export function parseProbeOutput(stdout: string, walltimeMs: number | undefined): Map<number, StatusUpdate> {
  const updates = new Map<number, StatusUpdate>();
  for (const match of stdout.matchAll(/^__parsl_job (\d+) ([RXGT])(?: (-?\d+))?\s*$/gm)) {
    const index = Number(match[1]);
    if (match[2] === 'R') updates.set(index, { state: 'running' });
    else if (match[2] === 'T') updates.set(index, { state: 'timeout', message: `killed after its walltime of ${walltimeMs ?? '?'} ms` });
    else if (match[2] === 'G') updates.set(index, { state: 'failed', message: 'the process ended without recording an exit code (killed?)' });
    else updates.set(index, exitStatus(Number(match[3])));
  }
  return updates;
}

/** A finished process's exit code as a job status. */
export function exitStatus(code: number): StatusUpdate {
  if (code === 0) return { state: 'completed', exitCode: 0 };
  if (code > 128 && code < 160) return { state: 'failed', exitCode: code, message: `killed by signal ${code - 128}` };
  return { state: 'failed', exitCode: code };
}

/** How long a cancelled job's processes get to end after SIGTERM before SIGKILL, in tenths of a second. */
const KILL_GRACE_TENTHS = 50;

/**
 * Terminates a job's process group (its pid is the group id), falling back to the pid alone,
 * and sends SIGKILL to whatever is left five seconds later without waiting for it. The delayed
 * kill ends as soon as the group is gone (it looks every 0.1 s): it never outlives the job it was
 * for, and never hits a process that reuses the group id much later. (It runs in an exec'd
 * bash: a `( … ) &` subshell would keep copies of the channel's pipes open while it waits, and
 * the channel would wait for it.) If a live process under the pid is not the job's wrapper, it
 * took the pid after the job ended, and the job's group is gone too (Linux reuses no id while a
 * group of that id lives): nothing is signalled.
 */
export function killCommand(job: { pid: number; exitFile: string }): string {
  const { pid } = job;
  const delayedKill =
    `for ((i = 0; i < ${KILL_GRACE_TENTHS}; i++)); do kill -0 -- -${pid} 2> /dev/null || exit 0; sleep 0.1; done; ` +
    `kill -KILL -- -${pid} 2> /dev/null`;
  const notTheJob = `${processAlive(pid)} && ! ${namesFile(pid, job.exitFile)}`;
  return (
    `if ${notTheJob}; then false; ` +
    `elif kill -TERM -- -${pid} 2> /dev/null || kill -TERM ${pid} 2> /dev/null; then ` +
    `bash -c ${shellQuote(delayedKill)} > /dev/null 2>&1 < /dev/null & true; ` +
    'else false; fi'
  );
}

/** A block running as a background process on one host. */
export interface ProcessJobRecord extends JobRecord {
  /** Key of the host (AdHocProvider) or `''` (LocalProvider). */
  host: string;
  channel: Channel;
  pid: number;
  exitFile: string;
}

/**
 * Base of providers whose blocks are background processes started through a channel: submit
 * writes the script and starts it detached, status probes pids and exit-code files (one round
 * trip per host), cancel kills process groups.
 */
export abstract class BackgroundProcessProvider<O extends ResolvedProviderOptions> extends BaseProvider<O, ProcessJobRecord> {
  /** The host for a new job; throws `SubmitError` if none can take it. */
  protected abstract pickHost(jobName: string): { host: string; channel: Channel };
  /** The job id of a process on a host. */
  protected abstract jobIdFor(host: string, pid: number): string;

  /** Starts a block: runs `command` through the launcher as a background process group; resolves with its job id. */
  async submit(command: string, tasksPerNode: number, jobName: string, options: SubmitOptions = {}): Promise<string> {
    this.checkTasksPerNode(tasksPerNode);
    const { host, channel } = this.pickHost(jobName);
    const job = this.newJob(jobName, tasksPerNode, options, channel);
    const script = this.renderScript(job, command, []);
    await this.writeJobFile(job, job.scriptPath, script, 0o700, channel);
    const exitFile = `${job.scriptPath}.ec`;
    const start = startCommand({ scriptPath: job.scriptPath, stdoutPath: job.stdoutPath, stderrPath: job.stderrPath, exitFile }, this.options.walltimeMs);
    const result = await this.runForSubmit(job, 'bash', start, channel);
    if (result.exitCode !== 0) {
      throw new SubmitError(job.jobName, `the shell that starts the job on ${channel.description} exited with code ${result.exitCode}`, {
        command: start,
        ...result,
      });
    }
    const pid = parseStartOutput(result.stdout);
    if (pid === undefined) {
      throw new SubmitError(job.jobName, `the shell that starts the job on ${channel.description} printed no pid`, { command: start, ...result });
    }
    const jobId = this.jobIdFor(host, pid);
    this.jobs.set(jobId, {
      jobId,
      jobName: job.jobName,
      state: 'running',
      scriptPath: job.scriptPath,
      stdoutPath: job.stdoutPath,
      stderrPath: job.stderrPath,
      host,
      channel,
      pid,
      exitFile,
    });
    return jobId;
  }

  /** Known records among `jobIds`, grouped by channel. */
  private byChannel(jobIds: string[]): Map<Channel, ProcessJobRecord[]> {
    const groups = new Map<Channel, ProcessJobRecord[]>();
    for (const id of jobIds) {
      const record = this.jobs.get(id);
      if (!record) continue;
      const group = groups.get(record.channel) ?? [];
      group.push(record);
      groups.set(record.channel, group);
    }
    return groups;
  }

  protected async poll(jobIds: string[]): Promise<Map<string, StatusUpdate>> {
    const updates = new Map<string, StatusUpdate>();
    await Promise.all(
      [...this.byChannel(jobIds)].map(async ([channel, records]) => {
        const ids = records.map((r) => r.jobId);
        const command = probeCommand(records);
        const result = await this.runForStatus(ids, 'the process probe', command, channel);
        const found = parseProbeOutput(result.stdout, this.options.walltimeMs);
        if (found.size === 0 && result.exitCode !== 0) {
          throw new JobStatusError(ids, `the process probe on ${channel.description} exited with code ${result.exitCode}`, { command, ...result });
        }
        records.forEach((record, i) => {
          const update = found.get(i);
          if (update) updates.set(record.jobId, update);
        });
      }),
    );
    return updates;
  }

  protected async kill(jobIds: string[]): Promise<boolean[]> {
    const accepted = new Map<string, boolean>();
    await Promise.all(
      [...this.byChannel(jobIds)].map(async ([channel, records]) => {
        const results = await this.killEach(
          records.map((r) => r.jobId),
          (id) => killCommand(this.jobs.get(id)!),
          'kill',
          channel,
        );
        records.forEach((record, i) => accepted.set(record.jobId, results[i] === true));
      }),
    );
    return jobIds.map((id) => accepted.get(id) ?? false);
  }
}
