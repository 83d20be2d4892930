/**
 * With `site.startLeaf`: the site's leaf node started for the user, on the site's login node
 * through the provider's channel, as `parsl-ts site` (the command a site's administrator would
 * run), in the background like a LocalProvider block; stopped with SIGTERM (it flushes the site's
 * queue to its store) when the executor stops. Its credential is written there first (mode 600),
 * never put on a command line.
 */
import { fileURLToPath } from 'node:url';
import { packageFile } from '../../common/package-files.ts';
import { shellQuote } from '../../common/shell-quote.ts';
import type { ResolvedSite } from '../../executors/htex-site.ts';
import { LocalProvider } from '../../providers/local.ts';
import type { ExecutionProvider } from '../../providers/provider.ts';

/** This installation's `parsl-ts` command, by absolute paths (right on a shared file system). */
function localSiteCommand(): string {
  const bin = fileURLToPath(packageFile('bin/parsl-ts.js'));
  return `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} site`;
}

/** The leaf's client port: the port of the first `leafUrl`. */
function leafPort(site: ResolvedSite): number {
  const first = Array.isArray(site.leafUrl) ? site.leafUrl[0]! : site.leafUrl;
  return Number(new URL(first).port || 4222);
}

/** Starts the site's leaf through `provider`'s channel; resolves with how to stop it (undefined without `startLeaf`). */
export async function startSiteLeaf(site: ResolvedSite, provider: ExecutionProvider): Promise<{ stop(): Promise<void> } | undefined> {
  const start = site.startLeaf;
  if (!start) return undefined;
  const channel = provider.options.channel;
  const dir = start.dir ?? `${channel.scriptDir}/site-${site.name}`;
  await channel.makeDirs(dir);
  const credentialFile = `${dir}/credential.json`;
  await channel.writeFile(credentialFile, `${JSON.stringify(site.credential)}\n`, 0o600);
  const hub = start.hub ?? `nats://127.0.0.1:${site.tunnel!.remotePort}`;
  const command = [
    start.command ?? localSiteCommand(),
    `--name ${site.name}`,
    `--hub ${shellQuote(hub)}`,
    `--port ${leafPort(site)}`,
    `--listen ${shellQuote(start.listen)}`,
    `--dir ${shellQuote(dir)}`,
    `--credential ${shellQuote(credentialFile)}`,
  ].join(' ');
  // The login node's own process, whatever the executor's provider is (a batch scheduler would put it on a compute node).
  const runner = new LocalProvider({ channel, initBlocks: 0, minBlocks: 0 });
  const jobId = await runner.submit(command, 1, `parsl-ts-site-${site.name}`, { scriptDir: dir });
  return { stop: () => runner.cancel([jobId]).then(() => {}) };
}
