/**
 * Launchers: the command each one generates for nodesPerBlock × tasksPerNode, checked as text
 * and by running it under bash with stand-ins for srun/aprun/mpiexec/mpirun/jsrun/parallel
 * (they log their arguments and run the command file once per task they were asked for).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../src/common/errors.ts';
import {
  AprunLauncher,
  GnuParallelLauncher,
  JsrunLauncher,
  MpiExecLauncher,
  MpiRunLauncher,
  SimpleLauncher,
  SingleNodeLauncher,
  SrunLauncher,
  SrunMPILauncher,
  WrappedLauncher,
  type Launcher,
} from '../src/providers/launchers/index.ts';
import { tempDir } from './helpers.ts';

const dir = tempDir('parsl-ts-launchers-');
const bin = join(dir.path, 'bin');
mkdirSync(bin);

// A stand-in for a parallel runner: logs its arguments, then runs "<shell> <file>" (its last two
// arguments) once per task asked for with -n/-np/--ntasks, with PARSL_LATE set only now, so that
// a command file written with expansion at write time would show an empty value.
const runner = `#!/bin/bash
echo "$(basename "$0") $*" >> "$STUB_LOG"
n=1; prev=""
for a in "$@"; do
  case "$prev" in -n|-np|--ntasks) n=$a;; esac
  case "$a" in --ntasks=*) n=\${a#--ntasks=};; esac
  prev=$a
done
shell="\${@: -2:1}"; file="\${@: -1}"
export PARSL_LATE=late
for i in $(seq 1 "$n"); do PARSL_RANK=$i "$shell" "$file"; done
`;
for (const name of ['srun', 'aprun', 'mpiexec', 'mpirun', 'jsrun']) {
  writeFileSync(join(bin, name), runner);
  chmodSync(join(bin, name), 0o755);
}
// GNU parallel stand-in: logs its arguments and runs each line of stdin with bash.
writeFileSync(join(bin, 'parallel'), '#!/bin/bash\necho "parallel $*" >> "$STUB_LOG"\nexport PARSL_LATE=late\nwhile IFS= read -r line; do bash -c "$line"; done\n');
chmodSync(join(bin, 'parallel'), 0o755);

let runs = 0;
/** Runs launcher text under bash; returns exit code, the lines the command wrote, and the runner log. */
function run(text: string, env: Record<string, string> = {}): { code: number | null; out: string[]; log: string[]; stderr: string } {
  const id = ++runs;
  const out = join(dir.path, `out-${id}.txt`);
  const log = join(dir.path, `log-${id}.txt`);
  writeFileSync(out, '');
  writeFileSync(log, '');
  const result = spawnSync('bash', ['-c', text], {
    encoding: 'utf8',
    env: { PATH: `${bin}:${process.env.PATH}`, OUT: out, STUB_LOG: log, JOBNAME: `job${id}`, PARSL_SCRIPT_DIR: dir.path, ...env },
  });
  const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);
  return { code: result.status, out: lines(out).sort(), log: lines(log), stderr: result.stderr };
}

function syntaxOk(text: string): void {
  const check = spawnSync('bash', ['-n', '-c', text], { encoding: 'utf8' });
  assert.is(check.status, 0, `bash -n: ${check.stderr}`);
}

const WRITE = 'echo "${PARSL_LATE:-early} ${PARSL_RANK:-$1}" >> "$OUT"';

test('SimpleLauncher - the command, unchanged', () => {
  const l = new SimpleLauncher();
  assert.is(l.launch('process_worker_pool --port 1', 4, 2), 'process_worker_pool --port 1');
});

test('SingleNodeLauncher - tasksPerNode × nodesPerBlock background copies, each given its index', () => {
  const text = new SingleNodeLauncher().launch('echo "copy $1" >> "$OUT"', 3, 2);
  syntaxOk(text);
  assert.match(text, /^PARSL_WORKERCOUNT=6$/m);
  const r = run(text);
  assert.is(r.code, 0);
  assert.equal(r.out, ['copy 1', 'copy 2', 'copy 3', 'copy 4', 'copy 5', 'copy 6']);
});

test('SingleNodeLauncher - exit code: one copy passes through; failOnAny fails on the first failure', () => {
  assert.is(run(new SingleNodeLauncher().launch('exit 3', 1, 1)).code, 3);
  const someFail = 'if [ "$1" = 2 ]; then exit 5; fi';
  assert.is(run(new SingleNodeLauncher().launch(someFail, 3, 1)).code, 0);
  assert.is(run(new SingleNodeLauncher({ failOnAny: true }).launch(someFail, 3, 1)).code, 5);
  assert.is(run(new SingleNodeLauncher().launch('exit 4', 2, 1)).code, 4);
});

test('WrappedLauncher - prepend before a one-line command; a multi-line one goes through bash -c', () => {
  const l = new WrappedLauncher({ prepend: 'env WRAPPED=1' });
  assert.is(l.launch('echo "$WRAPPED" >> "$OUT"', 1, 1), 'env WRAPPED=1 echo "$WRAPPED" >> "$OUT"');
  const multi = l.launch('A=1\necho "$WRAPPED $A" >> "$OUT"', 1, 1);
  assert.is(multi, `env WRAPPED=1 bash -c 'A=1\necho "$WRAPPED $A" >> "$OUT"'`);
  assert.equal(run(multi).out, ['1 1']);
});

test('SrunLauncher - one srun of nodes × tasks, tasksPerNode per node, command file written verbatim', () => {
  const text = new SrunLauncher({ overrides: '--cpu-bind=none' }).launch(WRITE, 3, 2);
  syntaxOk(text);
  assert.match(text, /^srun --ntasks=6 --ntasks-per-node=3 -l --cpu-bind=none bash "\$PARSL_CMD_FILE"$/m);
  assert.match(text, /^cat << 'PARSL_CMD_EOF' > "\$PARSL_CMD_FILE"$/m);
  const r = run(text);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.log.length, 1);
  assert.match(r.log[0]!, new RegExp(`^srun --ntasks=6 --ntasks-per-node=3 -l --cpu-bind=none bash ${dir.path}/cmd_job${runs}\\.\\d+\\.sh$`));
  assert.equal(r.out, ['late 1', 'late 2', 'late 3', 'late 4', 'late 5', 'late 6']);
});

test('SrunMPILauncher - more task blocks than nodes: each block an srun over a share of the cores', () => {
  const text = new SrunMPILauncher().launch(WRITE, 3, 2);
  syntaxOk(text);
  assert.match(text, /^PARSL_TASK_BLOCKS=6$/m);
  const r = run(text, { SLURM_JOB_NUM_NODES: '2', SLURM_CPUS_ON_NODE: '6' });
  assert.is(r.code, 0, r.stderr);
  // 6 blocks over 2 nodes × 6 cores: 6 sruns of 2 tasks each.
  assert.is(r.log.length, 6);
  for (const line of r.log) assert.match(line, /^srun --exclusive --ntasks=2 -l bash \S+$/);
  assert.is(r.out.length, 12);
});

test('SrunMPILauncher - as many nodes as task blocks: each block gets whole nodes', () => {
  const r = run(new SrunMPILauncher({ overrides: '--mpi=pmix' }).launch(WRITE, 1, 4), { SLURM_JOB_NUM_NODES: '4', SLURM_CPUS_ON_NODE: '8' });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.log.length, 4);
  for (const line of r.log) assert.match(line, /^srun --exclusive --nodes=1 -l --mpi=pmix bash \S+$/);
});

test('AprunLauncher - aprun -n <nodes × tasks> -N <tasksPerNode>', () => {
  const text = new AprunLauncher({ overrides: '-cc depth' }).launch(WRITE, 4, 2);
  syntaxOk(text);
  assert.match(text, /^aprun -n 8 -N 4 -cc depth \/bin\/bash "\$PARSL_CMD_FILE"$/m);
  const r = run(text);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.out.length, 8);
  assert.ok(r.out.every((l) => l.startsWith('late ')));
});

test('JsrunLauncher - jsrun -n <nodes × tasks> -r <tasksPerNode>', () => {
  const text = new JsrunLauncher().launch(WRITE, 2, 3);
  syntaxOk(text);
  assert.match(text, /^jsrun -n 6 -r 2 \/bin\/bash "\$PARSL_CMD_FILE"$/m);
  assert.is(run(text).out.length, 6);
});

test('MpiExecLauncher - mpiexec -n/-ppn, the scheduler host file when there is one, binding', () => {
  const text = new MpiExecLauncher({ bindCmd: '--bind-to core' }).launch(WRITE, 2, 2);
  syntaxOk(text);
  assert.match(text, /^mpiexec -n 4 -ppn 2\$\{PARSL_HOSTFILE:\+ -hostfile "\$PARSL_HOSTFILE"\} --bind-to core \/bin\/bash "\$PARSL_CMD_FILE"$/m);
  const without = run(text);
  assert.match(without.log[0]!, /^mpiexec -n 4 -ppn 2 --bind-to core \/bin\/bash /);
  assert.is(without.out.length, 4);
  const nodefile = join(dir.path, 'nodes');
  writeFileSync(nodefile, 'n1\nn2\n');
  const withFile = run(text, { PBS_NODEFILE: nodefile });
  assert.match(withFile.log[0]!, new RegExp(`^mpiexec -n 4 -ppn 2 -hostfile ${nodefile} --bind-to core /bin/bash `));
  assert.match(new MpiExecLauncher({ ppnFlag: '--ppn' }).launch('x', 3, 1), /^mpiexec -n 3 --ppn 3/m);
});

test('MpiRunLauncher - mpirun -np <nodes × tasks> --npernode <tasksPerNode>', () => {
  const text = new MpiRunLauncher({ bashLocation: '/usr/bin/env bash', overrides: '--oversubscribe' }).launch(WRITE, 3, 1);
  syntaxOk(text);
  assert.match(text, /^mpirun -np 3 --npernode 3 --oversubscribe \/usr\/bin\/env bash "\$PARSL_CMD_FILE"$/m);
  assert.match(new MpiRunLauncher().launch('x', 1, 2), /^mpirun -np 2 --npernode 1 \/bin\/bash "\$PARSL_CMD_FILE"$/m);
});

test('GnuParallelLauncher - nodes × tasks lines fed to parallel, tasksPerNode jobs at a time per host', () => {
  const text = new GnuParallelLauncher().launch(WRITE, 2, 3);
  syntaxOk(text);
  const local = run(text);
  assert.is(local.code, 0, local.stderr);
  assert.match(local.log[0]!, /^parallel --joblog \S+ --jobs 2$/);
  assert.is(local.out.length, 6);
  const nodefile = join(dir.path, 'pbs-nodes');
  writeFileSync(nodefile, 'n1\nn2\nn3\n');
  const onPbs = run(text, { PBS_NODEFILE: nodefile });
  assert.match(onPbs.log[0]!, new RegExp(`^parallel --env _ --joblog \\S+ --sshloginfile ${nodefile} --jobs 2$`));
});

test('launchers - a command containing the heredoc delimiter is still written verbatim', () => {
  const command = `cat > "$OUT" << 'PARSL_CMD_EOF'\nline $NOT_EXPANDED\nPARSL_CMD_EOF`;
  const text = new SrunLauncher().launch(command, 1, 1);
  assert.match(text, /^cat << 'PARSL_CMD_EOF_1' > "\$PARSL_CMD_FILE"$/m);
  const r = run(text);
  assert.is(r.code, 0, r.stderr);
  assert.equal(r.out, ['line $NOT_EXPANDED']);
});

test('launchers - every launcher produces valid bash for several shapes', () => {
  const all: Launcher[] = [
    new SimpleLauncher(),
    new SingleNodeLauncher({ debug: true }),
    new WrappedLauncher({ prepend: 'time', debug: true }),
    new SrunLauncher({ debug: true }),
    new SrunMPILauncher({ debug: true }),
    new AprunLauncher({ debug: true }),
    new JsrunLauncher({ debug: true }),
    new MpiExecLauncher({ debug: true }),
    new MpiRunLauncher({ debug: true }),
    new GnuParallelLauncher({ debug: true }),
  ];
  for (const l of all) for (const [t, n] of [[1, 1], [4, 1], [2, 8]] as const) syntaxOk(l.launch('echo "$@"; exit 0', t, n));
});

test('launchers - bad counts and options throw ConfigError naming them', () => {
  assert.throws(() => new SrunLauncher().launch('x', 0, 1), (e: unknown) => e instanceof ConfigError && e.message === 'SrunLauncher.launch(tasksPerNode): expected a positive integer; got 0');
  assert.throws(() => new AprunLauncher().launch('x', 1, 1.5), (e: unknown) => e instanceof ConfigError && e.message === 'AprunLauncher.launch(nodesPerBlock): expected a positive integer; got 1.5');
  assert.throws(() => new SrunLauncher({ overides: '--x' } as never), (e: unknown) => e instanceof ConfigError && e.message === "SrunLauncher: unknown option 'overides'");
  assert.throws(
    () => new SingleNodeLauncher({ failOnAny: 'yes' } as never),
    (e: unknown) => e instanceof ConfigError && /^SingleNodeLauncher\.failOnAny: .*boolean.*; got 'yes'$/.test((e as Error).message),
  );
  assert.throws(() => new WrappedLauncher({} as never), (e: unknown) => e instanceof ConfigError && /^WrappedLauncher\.prepend: .*; got nothing$/.test((e as Error).message));
});

test.after(() => dir.remove());

test.run();
