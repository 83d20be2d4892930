/**
 * Data staging, from Parsl's tutorial: sort a file fetched over HTTP and deliver the sorted
 * file where its URL says. The input is staged in by a task of its own (`_http_stage_in`)
 * that the app waits on; the app runs on the local copy; with an `sftp://` output, a stage-out
 * task (`_sftp_stage_out`) delivers it after the app and the output's `DataFuture` resolves
 * once it is there.
 *
 *   @bash_app
 *   def sort_strings(inputs=[], outputs=[]):
 *       return "sort -g {} > {}".format(inputs[0], outputs[0])
 *   unsorted_file = File('https://raw.githubusercontent.com/Parsl/parsl-tutorial/master/input/unsorted.txt')
 *   sorted_file = File(os.path.join(os.getcwd(), 'sorted.txt'))
 *   f = sort_strings(inputs=[unsorted_file], outputs=[sorted_file])
 *
 * Run: node --import tsx examples/sort-strings.ts
 * Environment (all optional):
 *   SORT_INPUT_URL       the file to sort (default: the tutorial's unsorted.txt on GitHub)
 *   SORT_OUTPUT_URL      where the sorted file goes (default: sorted.txt here); an sftp:// URL
 *                        goes through an SSH channel with SORT_SSH_KEY and SORT_SSH_KNOWN_HOSTS
 * Files are written in $PARSL_EXAMPLE_DIR, or in a new temporary directory.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bashApp,
  Config,
  defaultStorageAccess,
  File,
  load,
  SFTPStaging,
  SSHChannel,
  ThreadPoolExecutor,
  type StagingProvider,
} from '../src/index.ts';

const workdir = process.env.PARSL_EXAMPLE_DIR ?? mkdtempSync(join(tmpdir(), 'parsl-example-'));
mkdirSync(workdir, { recursive: true });
process.chdir(workdir);

const inputUrl = process.env.SORT_INPUT_URL ?? 'https://raw.githubusercontent.com/Parsl/parsl-tutorial/master/input/unsorted.txt';
const output = new File(process.env.SORT_OUTPUT_URL ?? join(workdir, 'sorted.txt'));

// Parsl's default providers (local files, HTTP and FTP in, zip), plus SFTP through a channel
// when the output goes to an SSH host.
const storageAccess: StagingProvider[] = defaultStorageAccess();
let channel: SSHChannel | undefined;
if (output.scheme === 'sftp') {
  channel = new SSHChannel({
    hostname: output.hostname,
    port: output.port ?? 22,
    username: output.username ?? 'root',
    privateKeyPath: process.env.SORT_SSH_KEY,
    knownHostsPath: process.env.SORT_SSH_KNOWN_HOSTS,
    agent: false,
  });
  storageAccess.push(new SFTPStaging({ channels: [channel] }));
}

try {
  await using _dfk = load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2, storageAccess })] }));

  // A File in a command line is its local path: the staged copy, the output's local copy.
  const sortStrings = bashApp(({ inputs, outputs }: { inputs: File[]; outputs: File[] }) => `sort -g ${inputs[0]} > ${outputs[0]}`);

  const f = sortStrings({ inputs: [new File(inputUrl)], outputs: [output] });
  await f;
  const sorted = await f.outputs[0]!;
  console.log(`Sorted ${inputUrl}`);
  console.log(`Delivered to ${sorted.url}`);
  // The local copy the app wrote (for an sftp:// output, the one that was delivered).
  const lines = readFileSync(sorted.filepath, 'utf8').trim().split('\n');
  console.log(`First: ${lines[0]}  Last: ${lines[lines.length - 1]}  Lines: ${lines.length}`);
} finally {
  await channel?.close();
}
