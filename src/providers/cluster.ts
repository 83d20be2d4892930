/**
 * What every provider shares: job records, status and cancel bookkeeping, and writing a submit
 * script from a template through the channel. `ClusterProvider` adds the batch-scheduler flow
 * (write script → run the submit command → parse the job id).
 */
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../common/errors.ts';
import type { Channel, ExecResult } from './channels/channel.ts';
import { LocalChannel } from './channels/local.ts';
import { JobCancelError, JobStatusError, SubmitError } from './errors.ts';
import { TERMINAL_JOB_STATES, type ExecutionProvider, type JobState, type JobStatus, type ResolvedProviderOptions, type SubmitOptions } from './provider.ts';
import { joinPosix, renderTemplate, safeJobName } from './shell.ts';
import { shellQuote } from '../common/shell-quote.ts';

/** One block as the provider remembers it. */
export interface JobRecord {
  jobId: string;
  jobName: string;
  state: JobState;
  exitCode?: number | undefined;
  message?: string | undefined;
  scriptPath?: string | undefined;
  stdoutPath?: string | undefined;
  stderrPath?: string | undefined;
  /** Set once `cancel` succeeded for this job. */
  cancelled?: boolean;
}

/** What a scheduler query found out about one job. */
export interface StatusUpdate {
  state: JobState;
  exitCode?: number | undefined;
  message?: string | undefined;
}

/** A job about to be submitted: its unique name and the files it uses on the channel's side. */
export interface JobSpec {
  /** Unique name: the name given to `submit`, a timestamp and a random suffix. */
  jobName: string;
  tasksPerNode: number;
  /** Variables exported in the script before `workerInit`. */
  env: Record<string, string>;
  scriptDir: string;
  scriptPath: string;
  stdoutPath: string;
  stderrPath: string;
}

/**
 * The submit script. `{{directives}}` are the scheduler's header lines (`#SBATCH …`), then the
 * user's `schedulerOptions`, `workerInit`, and the launcher-wrapped command.
 */
export const DEFAULT_SUBMIT_TEMPLATE = `#!/bin/bash
{{directives}}
{{scheduler_options}}

{{env}}
{{worker_init}}

export JOBNAME={{job_name}}
export PARSL_SCRIPT_DIR={{script_dir}}

{{command}}
`;

/** Base of all providers: records, `status` and `cancel` around the provider's `poll` and `kill`. */
export abstract class BaseProvider<O extends ResolvedProviderOptions = ResolvedProviderOptions, R extends JobRecord = JobRecord>
  implements ExecutionProvider
{
  /** Name of the provider in logs and errors. */
  readonly label: string;
  /** The options, validated, with defaults filled in and durations in ms. */
  readonly options: O;
  /** Where the scheduler's commands run. */
  readonly channel: Channel;
  /** Every job this provider submitted or was asked about, by id. */
  protected readonly jobs = new Map<string, R>();
  /** Class name for errors, e.g. `SlurmProvider`. */
  protected abstract readonly kind: string;
  /** Whether `schedulerOptions` go into the script's header (not for HTCondor, where they belong to the submit description). */
  protected readonly schedulerOptionsInScript: boolean = true;

  constructor(options: O) {
    this.options = options;
    this.label = options.label;
    this.channel = options.channel;
  }

  abstract submit(command: string, tasksPerNode: number, jobName: string, options?: SubmitOptions): Promise<string>;

  /**
   * Asks the scheduler about jobs not yet in a terminal state. Returns what it found; ids it
   * does not return keep their previous state.
   */
  protected abstract poll(jobIds: string[]): Promise<Map<string, StatusUpdate>>;

  /** Asks the scheduler to cancel each job; `true` where it accepted. */
  protected abstract kill(jobIds: string[]): Promise<boolean[]>;

  async status(jobIds: string[]): Promise<JobStatus[]> {
    const live = [...new Set(jobIds)].filter((id) => {
      const record = this.jobs.get(id);
      return record === undefined || !TERMINAL_JOB_STATES.has(record.state);
    });
    if (live.length > 0) {
      const updates = await this.poll(live);
      for (const [id, update] of updates) this.applyUpdate(id, update);
    }
    return jobIds.map((id) => this.snapshot(id));
  }

  async cancel(jobIds: string[]): Promise<boolean[]> {
    if (jobIds.length === 0) return [];
    const wanted = [...new Set(jobIds)].filter((id) => {
      const record = this.jobs.get(id);
      return record === undefined || !TERMINAL_JOB_STATES.has(record.state);
    });
    const accepted = new Map<string, boolean>();
    if (wanted.length > 0) {
      const results = await this.kill(wanted);
      wanted.forEach((id, i) => {
        const ok = results[i] === true;
        accepted.set(id, ok);
        if (ok) {
          const record = this.jobs.get(id);
          if (record) {
            record.cancelled = true;
            record.state = 'cancelled';
            record.message = `cancelled by ${this.kind}.cancel()`;
          }
        }
      });
    }
    // A job already in a terminal state cannot be cancelled any more.
    return jobIds.map((id) => accepted.get(id) ?? false);
  }

  /** The record's status as a fresh object. */
  protected snapshot(jobId: string): JobStatus {
    const record = this.jobs.get(jobId);
    if (!record) return { jobId, state: 'unknown', message: `job ${jobId} is not known to ${this.kind} '${this.label}' or its scheduler` };
    const status: JobStatus = { jobId, state: record.state };
    if (record.exitCode !== undefined) status.exitCode = record.exitCode;
    if (record.message !== undefined) status.message = record.message;
    if (record.stdoutPath !== undefined) status.stdoutPath = record.stdoutPath;
    if (record.stderrPath !== undefined) status.stderrPath = record.stderrPath;
    return status;
  }

  /** Applies a scheduler's answer, leaving terminal records alone. */
  protected applyUpdate(jobId: string, update: StatusUpdate): void {
    let record = this.jobs.get(jobId);
    if (!record) {
      // A job submitted elsewhere (an earlier run): remember it from now on.
      record = { jobId, jobName: '', state: update.state } as R;
      this.jobs.set(jobId, record);
    } else if (TERMINAL_JOB_STATES.has(record.state)) {
      return;
    }
    record.state = update.state;
    record.exitCode = update.exitCode;
    record.message = update.message;
  }

  /** Runs a command on the channel with the provider's `cmdTimeout`. */
  protected run(command: string, channel: Channel = this.channel): Promise<ExecResult> {
    return channel.exec(command, { timeoutMs: this.options.cmdTimeoutMs });
  }

  /** Rejects a bad `tasksPerNode` the way async methods should: by rejecting. */
  protected checkTasksPerNode(tasksPerNode: number): void {
    if (!Number.isInteger(tasksPerNode) || tasksPerNode < 1) {
      throw new ConfigError(`${this.kind}.submit(tasksPerNode)`, `expected a positive integer; got ${String(tasksPerNode)}`);
    }
  }

  /** A unique name and the paths of a new job's files under `scriptDir`; checks the arguments of `submit`. */
  protected newJob(jobName: string, tasksPerNode: number, options: SubmitOptions = {}, channel: Channel = this.channel): JobSpec {
    this.checkTasksPerNode(tasksPerNode);
    const env = options.env ?? {};
    for (const key of Object.keys(env)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
        throw new ConfigError(`${this.kind}.submit(options.env)`, `${JSON.stringify(key)} is not a valid environment variable name`);
      }
    }
    const name = `${safeJobName(jobName)}.${Date.now()}.${randomBytes(3).toString('hex')}`;
    const scriptDir = options.scriptDir !== undefined && channel instanceof LocalChannel ? options.scriptDir : channel.scriptDir;
    return {
      jobName: name,
      tasksPerNode,
      env,
      scriptDir,
      scriptPath: joinPosix(scriptDir, `${name}.submit`),
      stdoutPath: joinPosix(scriptDir, `${name}.submit.stdout`),
      stderrPath: joinPosix(scriptDir, `${name}.submit.stderr`),
    };
  }

  /** The submit script for `job`: scheduler directives, `schedulerOptions`, `workerInit`, launched command. */
  protected renderScript(job: JobSpec, command: string, directives: string[], template = DEFAULT_SUBMIT_TEMPLATE): string {
    const launched = this.options.launcher.launch(command, job.tasksPerNode, this.options.nodesPerBlock);
    const text = renderTemplate(template, {
      directives: directives.join('\n'),
      scheduler_options: this.schedulerOptionsInScript ? this.options.schedulerOptions : '',
      env: Object.entries(job.env)
        .map(([key, value]) => `export ${key}=${shellQuote(value)}`)
        .join('\n'),
      worker_init: this.options.workerInit,
      job_name: shellQuote(job.jobName),
      script_dir: shellQuote(job.scriptDir),
      command: launched,
    });
    // Empty sections leave runs of blank lines; keep at most one.
    return text.replace(/\n{3,}/g, '\n\n');
  }

  /** Writes a file of the job through the channel; a failure becomes a `SubmitError` with the cause. */
  protected async writeJobFile(job: JobSpec, path: string, content: string, mode: number, channel: Channel = this.channel): Promise<void> {
    try {
      await channel.makeDirs(job.scriptDir);
      await channel.writeFile(path, content, mode);
    } catch (error) {
      throw new SubmitError(job.jobName, `could not write ${path} through ${channel.description}: ${(error as Error).message}`, {}, { cause: error });
    }
  }

  /** Runs a command for `submit`, turning a channel failure (timeout, lost connection) into a `SubmitError`. */
  protected async runForSubmit(job: JobSpec, program: string, command: string, channel: Channel = this.channel): Promise<ExecResult> {
    try {
      return await this.run(command, channel);
    } catch (error) {
      throw new SubmitError(job.jobName, `could not run ${program} through ${channel.description}: ${(error as Error).message}`, { command }, { cause: error });
    }
  }

  /** Runs a status command, turning a channel failure into a `JobStatusError`. */
  protected async runForStatus(jobIds: string[], program: string, command: string, channel: Channel = this.channel): Promise<ExecResult> {
    try {
      return await this.run(command, channel);
    } catch (error) {
      throw new JobStatusError(jobIds, `could not run ${program} through ${channel.description}: ${(error as Error).message}`, { command }, { cause: error });
    }
  }

  /**
   * Runs one cancel command per job in a single shell and reads back each one's exit code: one
   * round trip, and a per-job answer even when the scheduler refuses only some.
   */
  protected async killEach(jobIds: string[], commandFor: (jobId: string) => string, program: string, channel: Channel = this.channel): Promise<boolean[]> {
    const script = jobIds
      .map((id, i) => `${commandFor(id)} 1>&2; echo "__parsl_cancel ${i} $?"`)
      .join('\n');
    let result: ExecResult;
    try {
      result = await this.run(script, channel);
    } catch (error) {
      throw new JobCancelError(jobIds, `could not run ${program} through ${channel.description}: ${(error as Error).message}`, { command: script }, { cause: error });
    }
    const codes = new Map<number, number>();
    for (const match of result.stdout.matchAll(/^__parsl_cancel (\d+) (\d+)$/gm)) codes.set(Number(match[1]), Number(match[2]));
    if (codes.size === 0) {
      throw new JobCancelError(jobIds, `the shell running ${program} exited with code ${result.exitCode} before reporting`, { command: script, ...result });
    }
    return jobIds.map((_, i) => codes.get(i) === 0);
  }
}

/**
 * A provider that talks to a batch scheduler: writes a submit script from a template into the
 * channel's `scriptDir`, submits it, parses the job id, and polls and cancels with the
 * scheduler's commands.
 */
export abstract class ClusterProvider<O extends ResolvedProviderOptions & { walltimeMs: number }, R extends JobRecord = JobRecord> extends BaseProvider<O, R> {
  /** The submit program, for messages: `sbatch`, `qsub`… */
  protected abstract readonly submitProgram: string;
  /** What a job id looks like in the submit command's output, for the error when none is found. */
  protected abstract readonly jobIdHint: string;

  /** The scheduler's header lines for this job (`#SBATCH --nodes=2`…). */
  protected abstract directives(job: JobSpec): string[];
  /** The command line that submits the written script. */
  protected abstract submitCommand(job: JobSpec): string;
  /** The job id in the submit command's output, or `undefined`. */
  protected abstract parseJobId(result: ExecResult): string | undefined;

  /** Writes the files the submit command needs; by default the submit script alone. */
  protected async writeSubmitFiles(job: JobSpec, script: string): Promise<void> {
    await this.writeJobFile(job, job.scriptPath, script, 0o700);
  }

  /** Writes the block's submit script and submits it with the scheduler's command; resolves with the job id, or rejects with `SubmitError` carrying the command's output. */
  async submit(command: string, tasksPerNode: number, jobName: string, options: SubmitOptions = {}): Promise<string> {
    const job = this.newJob(jobName, tasksPerNode, options);
    const script = this.renderScript(job, command, this.directives(job));
    await this.writeSubmitFiles(job, script);
    const submitCommand = this.submitCommand(job);
    const result = await this.runForSubmit(job, this.submitProgram, submitCommand);
    if (result.exitCode !== 0) {
      throw new SubmitError(job.jobName, `${this.submitProgram} exited with code ${result.exitCode}`, { command: submitCommand, ...result });
    }
    const jobId = this.parseJobId(result);
    if (jobId === undefined) {
      throw new SubmitError(
        job.jobName,
        `${this.submitProgram} exited with code 0 but its output holds no job id (expected ${this.jobIdHint}); stdout: ${JSON.stringify(result.stdout.trim().slice(0, 300))}`,
        { command: submitCommand, ...result },
      );
    }
    this.jobs.set(jobId, {
      jobId,
      jobName: job.jobName,
      state: 'pending',
      scriptPath: job.scriptPath,
      stdoutPath: job.stdoutPath,
      stderrPath: job.stderrPath,
    } as R);
    return jobId;
  }
}
