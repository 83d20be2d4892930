import { ParslError, registerErrorClasses } from '../common/errors.ts';

/** What a scheduler command left behind, kept on provider errors as evidence. */
export interface CommandEvidence {
  /** The command line that ran (or would have run) on the channel. */
  command?: string | undefined;
  /** Its exit code; absent when it never ran to completion (channel failure, timeout). */
  exitCode?: number | undefined;
  stdout?: string | undefined;
  stderr?: string | undefined;
}

const SNIPPET = 600;

function snippet(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > SNIPPET ? `${trimmed.slice(0, SNIPPET)}…` : trimmed;
}

/**
 * Base of errors that carry the output of a scheduler command.
 *
 * @example
 * ```ts
 * const e = await f.exception(); if (e instanceof ProviderCommandError) console.log(e.command, e.exitCode, e.stderr);
 * ```
 */
export class ProviderCommandError extends ParslError {
  /** The scheduler command that failed. */
  readonly command: string;
  /** Its exit status; `undefined` when it did not exit (killed, timed out). */
  readonly exitCode: number | undefined;
  /** What it printed on stdout. */
  readonly stdout: string;
  /** What it printed on stderr. */
  readonly stderr: string;
  constructor(message: string, evidence: CommandEvidence, options?: ErrorOptions) {
    const stderr = evidence.stderr ?? '';
    super(stderr.trim() ? `${message}; stderr: ${snippet(stderr)}` : message, options);
    this.command = evidence.command ?? '';
    this.exitCode = evidence.exitCode;
    this.stdout = evidence.stdout ?? '';
    this.stderr = stderr;
  }
}

/**
 * A block could not be submitted. The message says which step failed (writing the script,
 * running the submit command, a non-zero exit, output without a job id, no free host…); the
 * fields hold the command and what it printed.
 *
 * @example
 * ```ts
 * try { await provider.submit('parsl-ts block', options); } catch (e) { if (e instanceof SubmitError) console.log(e.stderr); }
 * ```
 */
export class SubmitError extends ProviderCommandError {
  /** The name the job was submitted under. */
  readonly jobName: string;
  constructor(jobName: string, reason: string, evidence: CommandEvidence = {}, options?: ErrorOptions) {
    super(`Cannot submit job '${jobName}': ${reason}`, evidence, options);
    this.jobName = jobName;
  }
}

/**
 * The scheduler could not be asked about jobs (its status command failed or printed nonsense).
 *
 * @example
 * ```ts
 * try { await provider.status(['1234']); } catch (e) { if (e instanceof JobStatusError) console.log(e.jobIds, e.stderr); }
 * ```
 */
export class JobStatusError extends ProviderCommandError {
  /** The jobs that were asked about. */
  readonly jobIds: string[];
  constructor(jobIds: string[], reason: string, evidence: CommandEvidence = {}, options?: ErrorOptions) {
    super(`Cannot get the status of job(s) ${jobIds.join(', ')}: ${reason}`, evidence, options);
    this.jobIds = jobIds;
  }
}

/**
 * The cancel command could not be run at all (as opposed to refusing some jobs, which `cancel` reports as `false`).
 *
 * @example
 * ```ts
 * try { await provider.cancel(['1234']); } catch (e) { if (e instanceof JobCancelError) console.log(e.jobIds); }
 * ```
 */
export class JobCancelError extends ProviderCommandError {
  /** The jobs that were to be cancelled. */
  readonly jobIds: string[];
  constructor(jobIds: string[], reason: string, evidence: CommandEvidence = {}, options?: ErrorOptions) {
    super(`Cannot cancel job(s) ${jobIds.join(', ')}: ${reason}`, evidence, options);
    this.jobIds = jobIds;
  }
}

registerErrorClasses(ProviderCommandError, SubmitError, JobStatusError, JobCancelError);
