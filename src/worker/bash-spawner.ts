/**
 * Starts bash apps' commands from a small long-lived bash process instead of from Node.
 * `child_process.spawn` forks the whole Node process (hundreds of MB of mappings) for every
 * command: ~440 commands/s with two in flight on the 2-core machine this was measured on.
 * Forking a small bash that is already running costs a fraction of that.
 *
 * One helper per thread that runs bash apps, started on first use. It reads requests on its
 * stdin (NUL-separated fields: id, cwd, stdout path, stderr path, command) and, for each,
 * forks a reporter subshell that turns job control on (`set -m`: the command gets its own
 * process group, as `detached: true` gave it), starts `bash -c command` in the background,
 * reports `S id pid`, waits, and reports `E id status` on the helper's stdout. The reporter
 * stays outside the command's process group, so a walltime or cancel kill of the group
 * still reports an exit status; a command killed by a signal reports 128+n, as bash does.
 *
 * Lifetime: the helper exits at EOF on its stdin, that is when this thread or process goes
 * away (a terminated thread's pipes are closed, a dead process's too), and first ends the
 * commands still running (its reporters kill their groups on SIGTERM). If the helper dies,
 * the reporters it forked still report on the same pipe; a request it had not yet started
 * fails with `BashHelperLost` once the pipe closes, and the next command starts a new helper.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { BashHelperLost } from '../common/errors.ts';

const HELPER_SCRIPT = String.raw`
exec 3>&1 1>/dev/null
trap 'kill -TERM $(jobs -p) 2>/dev/null; exit 0' TERM
run() {
  set +m
  trap - TERM
  unset id cwd out err p how
  if [ "$1" = x ]; then exec bash -c "$__parsl_cmd"; fi
  eval "unset __parsl_cmd; $__parsl_cmd"
}
while IFS= read -r -d '' id && IFS= read -r -d '' how && IFS= read -r -d '' cwd && IFS= read -r -d '' out && IFS= read -r -d '' err && IFS= read -r -d '' __parsl_cmd; do
  (
    p=
    trap '[ -n "$p" ] && kill -KILL -- -$p 2>/dev/null; exit 1' TERM
    if ! cd -- "$cwd" 2>/dev/null; then echo "F $id cannot cd" >&3; exit 0; fi
    set -m
    if [ "$err" = "$out" ]; then run "$how" >>"$out" 2>&1 </dev/null 3>&- &
    else run "$how" >>"$out" 2>>"$err" </dev/null 3>&- &
    fi
    p=$!
    echo "S $id $p" >&3
    wait $p
    echo "E $id $?" >&3
  ) &
done
kill -TERM $(jobs -p) 2>/dev/null
`;

/**
 * A command that reads `$$` (or `${$}`) gets a fresh bash of its own, where `$$` is its own pid as under
 * `bash -c`; in a forked subshell `$$` would be the helper's, the same for every command.
 * Any other runs in a forked copy of the helper (no exec of bash: ~4x faster here).
 */
function needsOwnBash(command: string): boolean {
  return command.includes('$$') || command.includes('${$}');
}

interface Pending {
  started: (pid: number) => void;
  resolve: (status: number) => void;
  reject: (error: Error) => void;
  pid: number;
}

type Helper = ChildProcessByStdio<Writable, Readable, null>;

/** One helper process and the commands it is running. */
class BashSpawner {
  readonly #child: Helper;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #buffer = '';
  #exit: string | undefined;
  /** The report pipe closed: every writer (the helper and its reporters) is gone. */
  closed = false;

  constructor() {
    this.#child = spawn('bash', ['-c', HELPER_SCRIPT], {
      stdio: ['pipe', 'pipe', 'ignore'],
      // Its own process group: a Ctrl-C on the terminal reaches the driver, not the helper.
      detached: true,
    });
    this.#child.stdout.setEncoding('latin1');
    this.#child.stdout.on('data', (chunk: string) => this.#read(chunk));
    this.#child.stdout.on('close', () => this.#lost());
    this.#child.stdin.on('error', () => {});
    this.#child.on('error', (error) => {
      this.#exit = `it could not start: ${error.message}`;
      this.#lost();
    });
    this.#child.on('exit', (code, signal) => {
      this.#exit = signal ? `it was killed by ${signal}` : `it exited with status ${code}`;
      // Requests it had not started yet never will be; started ones still report.
      for (const [id, pending] of this.#pending) {
        if (pending.pid > 0) continue;
        this.#pending.delete(id);
        pending.reject(new BashHelperLost(this.#child.pid ?? 0, this.#exit));
      }
      if (this.#pending.size === 0) this.#idle();
    });
    this.#idle();
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Whether this helper can take a new command. */
  get usable(): boolean {
    return this.#exit === undefined && !this.closed;
  }

  run(command: string, cwd: string, stdout: string, stderr: string, started: (pid: number) => void): Promise<number> {
    const id = this.#nextId++;
    return new Promise<number>((resolve, reject) => {
      if (this.#pending.size === 0) this.#busy();
      this.#pending.set(id, { started, resolve, reject, pid: 0 });
      this.#child.stdin.write(`${id}\0${needsOwnBash(command) ? 'x' : 'e'}\0${cwd}\0${stdout}\0${stderr}\0${command}\0`);
    });
  }

  #read(chunk: string): void {
    this.#buffer += chunk;
    let newline: number;
    while ((newline = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      const [kind, idText, rest] = line.split(' ', 3);
      const pending = this.#pending.get(Number(idText));
      if (!pending) {
        // Started by a reporter just as its helper died, after the task was failed.
        if (kind === 'S') killGroup(Number(rest));
        continue;
      }
      if (kind === 'S') {
        pending.pid = Number(rest);
        pending.started(pending.pid);
      } else if (kind === 'E' || kind === 'F') {
        this.#pending.delete(Number(idText));
        if (this.#pending.size === 0) this.#idle();
        if (kind === 'E') pending.resolve(Number(rest));
        else pending.reject(new Error(`bash app: ${rest} into the working directory`));
      }
    }
  }

  /** The pipe closed: commands not reported by now never will be. */
  #lost(): void {
    if (this.closed) return;
    this.closed = true;
    const reason = this.#exit ?? 'its report pipe closed';
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      if (pending.pid > 0) killGroup(pending.pid);
      pending.reject(new BashHelperLost(this.#child.pid ?? 0, reason));
    }
  }

  /** A helper with nothing to do must not keep its thread's event loop alive. */
  #idle(): void {
    this.#child.unref();
    (this.#child.stdout as Readable & { unref(): void }).unref();
    (this.#child.stdin as Writable & { unref(): void }).unref();
  }

  #busy(): void {
    this.#child.ref();
    (this.#child.stdout as Readable & { ref(): void }).ref();
    (this.#child.stdin as Writable & { ref(): void }).ref();
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

let current: BashSpawner | undefined;

/** The helper of this thread, started (again) if there is none that works. */
function spawner(): BashSpawner {
  if (!current?.usable) current = new BashSpawner();
  return current;
}

/**
 * Runs `bash -c command` in its own process group, from `cwd`, appending its stdout and
 * stderr to the given paths (which exist: the caller opened them), and resolves with its
 * exit status (128+n when a signal ended it). `started` gets the pid, which is also the
 * process group, as soon as the helper reports it.
 */
export function spawnBash(command: string, cwd: string, stdout: string, stderr: string, started: (pid: number) => void): Promise<number> {
  return spawner().run(command, cwd, stdout, stderr, started);
}

/** The pid of this thread's helper, if one is running (for tests and the benchmark). */
export function bashHelperPid(): number | undefined {
  return current?.usable ? current.pid : undefined;
}
