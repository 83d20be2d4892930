/**
 * A bash app: the function returns a command line, which runs under bash on a worker;
 * `stdout` sends the command's output to a file.
 *
 * From the Parsl talk:
 *   @bash_app
 *   def echo_hello(stdout='echo-hello.stdout'):
 *       return 'echo "Hello World!"'
 *   echo_hello().result()
 *   with open('echo-hello.stdout', 'r') as f:
 *       print(f.read())
 *
 * Run: node --import tsx examples/echo-stdout.ts   (soon: npx parsl-ts run examples/echo-stdout.ts)
 * Files are written in $PARSL_EXAMPLE_DIR, or in a new temporary directory.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bashApp, load } from '../src/index.ts';

const workdir = process.env.PARSL_EXAMPLE_DIR ?? mkdtempSync(join(tmpdir(), 'parsl-example-'));
mkdirSync(workdir, { recursive: true });
process.chdir(workdir); // bash apps run in the current directory, like Parsl's

await using _dfk = load();

// Like Parsl's `stdout=` keyword default; `'w'` truncates the file first (the default appends).
const echoHello = bashApp(() => 'echo "Hello World!"', { stdout: ['echo-hello.stdout', 'w'] });

await echoHello(); // resolves to the exit code, 0, once the command has finished

console.log(`${join(workdir, 'echo-hello.stdout')}:`);
console.log(readFileSync('echo-hello.stdout', 'utf8').trimEnd());
