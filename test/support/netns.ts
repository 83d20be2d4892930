/**
 * Sites behind a firewall, for tests: each site is a network namespace joined to a bridge in the
 * root namespace by a veth pair (see INFRA.md, "Sites in network namespaces"). The hub listens on
 * the bridge's address; a site's nftables firewall drops every new inbound TCP connection but SSH
 * to its own sshd, as a real site does. `isolated` sites also drop every new outbound TCP
 * connection (but on lo): they cannot reach the hub at all, only through an SSH reverse tunnel.
 *
 *   const net = await SiteNetwork.create();           // a string (why) where ip netns is not permitted
 *   const a = await net.addSite('a');                 // a.netns, a.address, a.sshd
 *   await net.destroy();                              // also runs at exit after a failed test
 *
 * Addresses: 10.213.N.0/24 only, N chosen per test process; names carry the process id, and a
 * harness removes what a dead process left behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Sshd } from './sshd.ts';

export const SSH_PORT = 22;

export interface Site {
  /** `a` as given to addSite. */
  name: string;
  /** The network namespace (`ip netns exec NETNS …`). */
  netns: string;
  /** The site's own address on the bridge (its veth). */
  address: string;
  /** The host side of the veth pair: `linkDown()` cuts the site off. */
  hostLink: string;
  /** An sshd inside the site on its own address, port 22: the one door into the site. */
  sshd: Sshd;
  linkDown(): void;
  linkUp(): void;
}

export interface AddSiteOptions {
  /** Drop every new outbound TCP connection too (but on lo): no route to the hub. */
  isolated?: boolean;
}

const PREFIX = 'pt';

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryIp(...args: string[]): void {
  try {
    ip(...args);
  } catch {}
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Namespaces and links named `pt<pid>…` whose process is gone: remove them. */
function removeLeftovers(): void {
  const stale = (name: string): boolean => {
    const pid = Number(new RegExp(`^${PREFIX}(\\d+)`).exec(name)?.[1]);
    return pid > 0 && pid !== process.pid && !processAlive(pid);
  };
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (stale(name)) removeNamespace(name);
  }
  for (const line of ip('-o', 'link', 'show').split('\n')) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
    if (name && stale(name)) tryIp('link', 'del', name);
  }
}

function removeNamespace(netns: string): void {
  try {
    const pids = ip('netns', 'pids', netns).split('\n').filter(Boolean).map(Number);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  } catch {}
  tryIp('netns', 'del', netns);
}

/** A subnet 10.213.N.0/24 that no interface on this machine uses. */
function freeSubnet(): number {
  const used = ip('-o', 'addr', 'show').match(/10\.213\.(\d+)\./g) ?? [];
  const taken = new Set(used.map((text) => Number(text.split('.')[2])));
  for (let i = 0; i < 250; i++) {
    const n = ((process.pid + i) % 250) + 1;
    if (!taken.has(n)) return n;
  }
  throw new Error('no free subnet in 10.213.0.0/16');
}

/** Why this machine cannot run the tests (not root, no ip/nft, namespaces refused), or undefined. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: network namespaces need root (CI runs as root)';
  for (const tool of ['/usr/sbin/ip', '/usr/sbin/nft', '/usr/sbin/sshd', '/usr/sbin/nats-server']) {
    if (!existsSync(tool) && !existsSync(tool.replace('/usr/sbin', '/sbin'))) return `${tool} is missing: scripts/setup-test-env.sh installs it`;
  }
  const probe = `${PREFIX}${process.pid}probe`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
  } catch (error) {
    return `ip netns is not permitted here: ${(error as { stderr?: string }).stderr ?? String(error)}`.trim();
  }
  return undefined;
}

export class SiteNetwork {
  readonly bridge: string;
  /** The bridge's address in the root namespace: where the hub's leaf-node listener is. */
  readonly hubAddress: string;
  readonly sites: Site[] = [];
  readonly #subnet: number;
  #destroyed = false;
  readonly #onExit = (): void => this.#teardown();

  private constructor(subnet: number) {
    this.#subnet = subnet;
    this.bridge = `${PREFIX}${process.pid}br`;
    this.hubAddress = `10.213.${subnet}.1`;
  }

  /** Makes the bridge; a string saying why when this machine cannot. */
  static async create(): Promise<SiteNetwork | string> {
    const why = netnsUnavailable();
    if (why) return why;
    removeLeftovers();
    const network = new SiteNetwork(freeSubnet());
    process.once('exit', network.#onExit);
    try {
      ip('link', 'add', network.bridge, 'type', 'bridge');
      ip('addr', 'add', `${network.hubAddress}/24`, 'dev', network.bridge);
      ip('link', 'set', network.bridge, 'up');
    } catch (error) {
      await network.destroy();
      throw error;
    }
    return network;
  }

  /** A site namespace on the bridge, firewalled, lo up, with an sshd on its address. */
  async addSite(name: string, options: AddSiteOptions = {}): Promise<Site> {
    const index = this.sites.length + 2;
    const netns = `${PREFIX}${process.pid}${name}`;
    const hostLink = `${PREFIX}${process.pid}v${index}`;
    const address = `10.213.${this.#subnet}.${index}`;
    ip('netns', 'add', netns);
    ip('link', 'add', hostLink, 'type', 'veth', 'peer', 'name', 'veth0', 'netns', netns);
    ip('link', 'set', hostLink, 'master', this.bridge, 'up');
    ip('-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'veth0');
    ip('-n', netns, 'link', 'set', 'veth0', 'up');
    // A new namespace's lo is down: every connect to 127.0.0.1 would fail with ENETUNREACH.
    ip('-n', netns, 'link', 'set', 'lo', 'up');
    execFileSync('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: firewall(options.isolated === true), stdio: ['pipe', 'pipe', 'pipe'] });
    const sshd = await Sshd.start({ port: SSH_PORT, listenAddress: address, netns, extraConfig: ['AllowTcpForwarding yes'] });
    const site: Site = {
      name,
      netns,
      address,
      hostLink,
      sshd,
      linkDown: () => void ip('link', 'set', hostLink, 'down'),
      linkUp: () => void ip('link', 'set', hostLink, 'up'),
    };
    this.sites.push(site);
    return site;
  }

  /** Stops every site's processes and removes namespaces, links and bridge. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    for (const site of this.sites) await site.sshd.stop().catch(() => {});
    this.#teardown();
    process.removeListener('exit', this.#onExit);
  }

  #teardown(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const site of this.sites) {
      removeNamespace(site.netns);
      tryIp('link', 'del', site.hostLink);
    }
    tryIp('link', 'del', this.bridge);
  }
}

/**
 * The site's firewall: inbound, only SSH opens a connection (replies to the site's own outbound
 * connections pass as established). `isolated`: outbound, only lo and replies.
 */
function firewall(isolated: boolean): string {
  return `table inet sitefw {
  chain input {
    type filter hook input priority filter; policy accept;
    ct state established,related accept
    iifname "lo" accept
    tcp dport ${SSH_PORT} ct state new accept
    meta l4proto tcp ct state new counter drop
  }
  chain output {
    type filter hook output priority filter; policy accept;
    ct state established,related accept
    oifname "lo" accept
    ${isolated ? 'meta l4proto tcp ct state new counter drop' : ''}
  }
}
`;
}
