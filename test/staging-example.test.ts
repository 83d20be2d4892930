// examples/sort-strings.ts run as a user would, against the test HTTP server (its input) and
// sshd on loopback (its output, delivered over SFTP by a stage-out task).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deadline, runNode, tempDir, type NodeRun } from './helpers.ts';
import { TestHttpServer } from './support/http-server.ts';
import { Sshd } from './support/sshd.ts';

const root = new URL('..', import.meta.url).pathname;
const TIMEOUT_MS = 120_000;

function runExample(name: string, env: Record<string, string>): Promise<NodeRun> {
  return runNode(['--import', 'tsx', join('examples', `${name}.ts`)], { cwd: root, env, timeoutMs: TIMEOUT_MS + 5_000 });
}

const words = ['pear', '10', 'apple', '2', 'fig', '33', 'banana', '-1'];
const sortedLikeSortG = ['apple', 'banana', 'fig', 'pear', '-1', '2', '10', '33'];

test('examples - sort-strings sorts a file fetched over HTTP and delivers the output over SFTP', async () => {
  const dir = tempDir('parsl-ts-sort-strings-');
  const server = await TestHttpServer.start();
  const sshd = await Sshd.start();
  try {
    server.serve('/input/unsorted.txt', words.join('\n') + '\n');
    const remote = join(dir.path, 'remote');
    mkdirSync(remote);
    const knownHosts = join(dir.path, 'known_hosts');
    writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
    const outputUrl = `sftp://root@${sshd.host}:${sshd.port}${remote}/sorted.txt`;
    const run = await deadline(
      runExample('sort-strings', {
        PARSL_EXAMPLE_DIR: join(dir.path, 'work'),
        SORT_INPUT_URL: server.url('/input/unsorted.txt'),
        SORT_OUTPUT_URL: outputUrl,
        SORT_SSH_KEY: sshd.clientKeyPath,
        SORT_SSH_KNOWN_HOSTS: knownHosts,
      }),
      TIMEOUT_MS,
      'examples/sort-strings.ts',
    );
    assert.is(run.code, 0, `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
    assert.is(run.stderr, '', 'nothing on stderr');
    assert.match(run.stdout, `Delivered to ${outputUrl}`);
    // `sort -g`: words (no number, compared as 0… then by text) before the numbers in order.
    const delivered = join(remote, 'sorted.txt');
    assert.ok(existsSync(delivered), 'delivered over SFTP');
    assert.equal(readFileSync(delivered, 'utf8').trim().split('\n'), sortedLikeSortG);
    assert.match(run.stdout, `Lines: ${words.length}`);
    assert.is(server.requestsFor('/input/unsorted.txt').length, 1, 'fetched once');
  } finally {
    await sshd.stop();
    await server.stop();
    dir.remove();
  }
});

test.run();
