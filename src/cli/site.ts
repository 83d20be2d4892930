/**
 * `parsl-ts site …`: an administrator starts a site's NATS leaf node on the site's login node.
 * The leaf dials out to the hub (no inbound port at the site), keeps the site's task queue in
 * the site's own JetStream domain, and serves the site's blocks on `--listen:--port`. It runs in
 * the foreground until SIGINT or SIGTERM, and prints what to put in the driver's config.
 *
 * The site's credential is read from `--credential FILE` (JSON, as `siteCredential()` makes it);
 * when the file does not exist, a new one is written there (mode 600). Never on the command
 * line, where any user of the node could read it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { siteCredential, siteNames, startLeafNode, type SiteCredential } from '../nats/leaf.ts';
import { retainStoresOnStop } from '../nats/server.ts';
import { UsageError } from './errors.ts';

export const SITE_USAGE = `Usage: parsl-ts site --name NAME --hub nats://HOST:PORT [options]

Starts a site's NATS leaf node: it dials OUT to the hub's leaf-node port (the site needs no
inbound port), keeps the site's task queue in JetStream domain NAME, and serves the site's
blocks. Runs until Ctrl-C or SIGTERM; prints what to put in the driver's config.

Options:
  --name NAME            the site (= its JetStream domain and the executor's label)
  --hub URL              the hub's leaf-node listener as this host reaches it; through an SSH
                         reverse tunnel: nats://127.0.0.1:TUNNEL_PORT
  --port N               client port for the site's blocks (default 4222)
  --listen ADDR          address of the client port (default 0.0.0.0: compute nodes reach it)
  --dir DIR              store and config (default ~/.parsl-ts/site-NAME); the queue survives restarts
  --credential FILE      the site's credential, JSON (default DIR/credential.json; made if missing)
`;

export interface SiteCommandOptions {
  name: string;
  hub: string;
  port: number;
  listen: string;
  dir: string;
  credentialFile: string;
}

export function parseSiteArgs(argv: string[]): SiteCommandOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      hub: { type: 'string' },
      port: { type: 'string', default: '4222' },
      listen: { type: 'string', default: '0.0.0.0' },
      dir: { type: 'string' },
      credential: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (!values.name) throw new UsageError('--name is required');
  if (!values.hub) throw new UsageError('--hub is required (the hub\'s leaf-node URL, nats://HOST:PORT)');
  siteNames(values.name);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new UsageError(`--port: expected a port 1-65535; got '${values.port}'`);
  const dir = resolve(values.dir ?? join(homedir(), '.parsl-ts', `site-${values.name}`));
  return { name: values.name, hub: values.hub, port, listen: values.listen, dir, credentialFile: resolve(values.credential ?? join(dir, 'credential.json')) };
}

/** Reads the site's credential, or makes one and writes it (mode 600). */
export function loadOrMakeCredential(file: string, site: string): { credential: SiteCredential; made: boolean } {
  if (existsSync(file)) {
    const credential = JSON.parse(readFileSync(file, 'utf8')) as SiteCredential;
    if (credential.site !== site || !credential.leaf?.user || !credential.leaf?.password) {
      throw new UsageError(`${file} is not a credential of site '${site}'`);
    }
    return { credential, made: false };
  }
  const credential = siteCredential(site);
  writeFileSync(file, `${JSON.stringify(credential, null, 2)}\n`, { mode: 0o600 });
  return { credential, made: true };
}

/** The port of the hub's leaf-node URL (nats://HOST:PORT). */
function hubPort(hub: string): string {
  try {
    return new URL(hub).port || '7422';
  } catch {
    return '7422';
  }
}

/** Runs the site's leaf until a signal; resolves with the exit code. */
export async function siteMain(argv: string[]): Promise<number> {
  const options = parseSiteArgs(argv);
  if (options === 'help') {
    process.stdout.write(SITE_USAGE);
    return 0;
  }
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const { credential, made } = loadOrMakeCredential(options.credentialFile, options.name);
  const leaf = await startLeafNode({
    credential,
    hubLeafUrl: options.hub,
    port: options.port,
    host: options.listen,
    // Only the site's blocks may use the leaf: whoever publishes tasks runs code on the workers.
    auth: credential.blocks,
    server: { dir: options.dir },
  });
  const names = siteNames(options.name);
  process.stdout.write(
    [
      `Site '${options.name}' is up: leaf node on ${options.listen}:${options.port}, JetStream domain '${names.domain}',`,
      `dialling out to ${options.hub}. Stop it with Ctrl-C; its queue stays in ${options.dir}.`,
      '',
      `Credential: ${options.credentialFile}${made ? ' (new)' : ''}. Keep it secret; the driver's machine needs a copy:`,
      `the hub admits this site with it (its own account '${names.account}'; a leaf without it is refused).`,
      '',
      'In the driver\'s config:',
      `  new HighThroughputExecutor({`,
      `    label: '${options.name}',`,
      `    site: {`,
      `      name: '${options.name}',`,
      `      credentialFile: '<a copy of ${options.credentialFile}>',`,
      `      // the site's blocks connect to its leaf, never to the hub:`,
      `      leafUrl: 'nats://<this login node>:${options.port}',`,
      `      // where the driver's hub listens for this leaf (${options.hub} as this host reaches it):`,
      `      hubListen: '0.0.0.0:${hubPort(options.hub)}',`,
      `    },`,
      `    provider: …,`,
      `  })`,
      '',
    ].join('\n'),
  );
  // The server does not hold the process open (NatsServer unrefs it): this timer does, until a signal.
  const hold = setInterval(() => {}, 1 << 30);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(hold);
  // SIGTERM, not SIGKILL: the server flushes the site's queue to its store before it exits.
  retainStoresOnStop();
  await leaf.stop();
  return 0;
}
