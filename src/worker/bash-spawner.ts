/**
 * Starts bash apps' commands from small long-lived bash processes instead of from Node.
 * `child_process.spawn` forks the whole Node process (hundreds of MB of mappings) for every
 * command: ~440 commands/s with two in flight on the 2-core machine this was measured on.
 * Forking a small bash that is already running costs a fraction of that.
 *
 * A helper runs one command at a time, with one fork per command: it reads a request on its
 * stdin (NUL-separated fields: id, how, cwd, stdout path, stderr path, command), forks the
 * command with job control on (`set -m`: the command gets its own process group, as
 * `detached: true` gave it), reports `S id pid`, waits for it and reports `E id status` (128+n
 * when a signal ended it, as bash does). A thread keeps as many helpers as it has commands
 * running at once (one, for a thread that runs one task at a time), started on first use.
 * An earlier helper that ran several commands at once forked a reporter subshell per command
 * to wait for it: two forks per command, ~2.5x the helper's CPU per command.
 *
 * Lifetime: a helper exits at EOF on its stdin, that is when this thread or process goes
 * away (a terminated thread's pipes are closed, a dead process's too). While it waits for a
 * command it cannot read its stdin, so a watcher subshell it forks at start blocks on a
 * lifeline pipe (fd 4) that Node never writes to and, at its EOF, sends the helper SIGTERM:
 * the helper kills the running command's group and exits. If the helper dies, its running
 * command's exit status cannot be known any more: the command's group is killed, the task fails
 * with `BashHelperLost`, and the next command starts a new helper.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { BashHelperLost } from '../common/errors.ts';

const HELPER_SCRIPT = String.raw`
exec 3>&1 1>/dev/null
p=
trap '[ -n "$p" ] && kill -KILL -- -$p 2>/dev/null; kill $w 2>/dev/null; exit 0' TERM
{ read -r -u 4 _; kill -TERM $$; } </dev/null 3>&- &
w=$!
exec 4<&-
set -m
run() {
  trap - TERM
  if ! cd -- "$cwd" 2>/dev/null; then echo "F $id" >&3; exit 0; fi
  exec 3>&-
  set +m
  unset id cwd out err p w s how
  if [ "$1" = x ]; then exec bash -c "$__parsl_cmd"; fi
  eval "unset __parsl_cmd; $__parsl_cmd"
}
while IFS= read -r -d '' id && IFS= read -r -d '' how && IFS= read -r -d '' cwd && IFS= read -r -d '' out && IFS= read -r -d '' err && IFS= read -r -d '' __parsl_cmd; do
  if [ "$err" = "$out" ]; then run "$how" >>"$out" 2>&1 </dev/null &
  else run "$how" >>"$out" 2>>"$err" </dev/null &
  fi
  p=$!
  echo "S $id $p" >&3
  wait $p
  s=$?
  p=
  echo "E $id $s" >&3
done
kill $w 2>/dev/null
`;

/**
 * A command that reads `$$` (or `${$}`) gets a fresh bash of its own, where `$$` is its own pid as under
 * `bash -c`; in a forked subshell `$$` would be the helper's, the same for every command.
 * Any other runs in a forked copy of the helper (no exec of bash: ~4x faster here).
 */
function needsOwnBash(command: string): boolean {
  return command.includes('$$') || command.includes('${$}');
}

interface Running {
  id: number;
  started: (pid: number) => void;
  resolve: (status: number) => void;
  reject: (error: Error) => void;
  pid: number;
  /** Why the helper could not start it (reported before its exit status). */
  failure?: string;
}

/** Pipes that can be left out of the event loop's reasons to stay alive. */
type Refable = { ref(): void; unref(): void };

/** One helper process and the command it is running, if any. */
class BashSpawner {
  readonly #child: ChildProcess;
  readonly #stdin: Writable;
  readonly #stdout: Readable;
  #running: Running | undefined;
  #nextId = 1;
  #buffer = '';
  #exit: string | undefined;
  /** The report pipe closed: the helper (and every command that had not yet let go of it) is gone. */
  closed = false;

  constructor() {
    this.#child = spawn('bash', ['-c', HELPER_SCRIPT], {
      // fd 4: the lifeline, never written to; its EOF tells the helper this thread or process is gone.
      stdio: ['pipe', 'pipe', 'ignore', 'ignore', 'pipe'],
      // Its own process group: a Ctrl-C on the terminal reaches the driver, not the helper.
      detached: true,
    });
    this.#stdin = this.#child.stdin!;
    this.#stdout = this.#child.stdout!;
    const lifeline = this.#child.stdio[4] as Readable & Refable;
    lifeline.on('error', () => {});
    lifeline.unref();
    this.#stdout.setEncoding('latin1');
    this.#stdout.on('data', (chunk: string) => this.#read(chunk));
    this.#stdout.on('close', () => this.#lost());
    this.#stdin.on('error', () => {});
    this.#child.on('error', (error) => {
      this.#exit = `it could not start: ${error.message}`;
      this.#lost();
    });
    this.#child.on('exit', (code, signal) => {
      this.#exit = signal ? `it was killed by ${signal}` : `it exited with status ${code}`;
      // Its watcher is waiting on the lifeline: let it go.
      lifeline.destroy();
    });
    this.#idle();
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Whether this helper can take a new command now. */
  get free(): boolean {
    return this.usable && this.#running === undefined;
  }

  /** Whether this helper can take commands at all. */
  get usable(): boolean {
    return this.#exit === undefined && !this.closed;
  }

  run(command: string, cwd: string, stdout: string, stderr: string, started: (pid: number) => void): Promise<number> {
    const id = this.#nextId++;
    return new Promise<number>((resolve, reject) => {
      this.#busy();
      this.#running = { id, started, resolve, reject, pid: 0 };
      this.#stdin.write(`${id}\0${needsOwnBash(command) ? 'x' : 'e'}\0${cwd}\0${stdout}\0${stderr}\0${command}\0`);
    });
  }

  #read(chunk: string): void {
    this.#buffer += chunk;
    let newline: number;
    while ((newline = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      const [kind, idText, rest] = line.split(' ', 3);
      const running = this.#running;
      if (!running || running.id !== Number(idText)) continue;
      if (kind === 'S') {
        running.pid = Number(rest);
        running.started(running.pid);
      } else if (kind === 'F') {
        running.failure = 'bash app: cannot cd into the working directory';
      } else if (kind === 'E') {
        // The helper is back to reading its stdin: it is free before the caller hears of it.
        this.#running = undefined;
        this.#idle();
        if (running.failure === undefined) running.resolve(Number(rest));
        else running.reject(new Error(running.failure));
      }
    }
  }

  /** The pipe closed: a command not reported by now never will be. */
  #lost(): void {
    if (this.closed) return;
    this.closed = true;
    const running = this.#running;
    if (!running) return;
    this.#running = undefined;
    this.#idle();
    if (running.pid > 0) killGroup(running.pid);
    running.reject(new BashHelperLost(this.#child.pid ?? 0, this.#exit ?? 'its report pipe closed'));
  }

  /** A helper with nothing to do must not keep its thread's event loop alive. */
  #idle(): void {
    this.#child.unref();
    (this.#stdout as Readable & Refable).unref();
    (this.#stdin as Writable & Refable).unref();
  }

  #busy(): void {
    this.#child.ref();
    (this.#stdout as Readable & Refable).ref();
    (this.#stdin as Writable & Refable).ref();
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** This thread's helpers: as many as it ran commands at once. */
let helpers: BashSpawner[] = [];

/** A helper of this thread that is free, started if there is none. */
function spawner(): BashSpawner {
  const free = helpers.find((helper) => helper.free);
  if (free) return free;
  helpers = helpers.filter((helper) => helper.usable);
  const helper = new BashSpawner();
  helpers.push(helper);
  return helper;
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

/** The pid of this thread's first helper, if one is running (for tests and the benchmark). */
export function bashHelperPid(): number | undefined {
  return helpers.find((helper) => helper.usable)?.pid;
}
