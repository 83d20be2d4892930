/**
 * OpenSSH `known_hosts` files: parsing (plain, wildcard, negated and hashed host patterns,
 * `[host]:port` names, `@revoked` and `@cert-authority` markers), looking a server's key up,
 * and appending a newly trusted key. See sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT".
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** One key line of a known_hosts file. */
export interface KnownHostEntry {
  /** 1-based line number, for messages. */
  line: number;
  marker: 'cert-authority' | 'revoked' | undefined;
  /** The host patterns field as written (`host,[host]:2222,*.example.org` or `|1|salt|hash`). */
  hosts: string;
  /** Key type as written, e.g. `ssh-ed25519`. */
  keyType: string;
  /** The public key blob, base64 as written. */
  key: string;
}

/** What a known_hosts file says about the key a server offered. */
export type HostKeyVerdict =
  /** A line for this host holds exactly this key. */
  | { status: 'known'; entry: KnownHostEntry }
  /** No line names this host. */
  | { status: 'unknown' }
  /** Lines name this host but none holds this key: the key changed, or the server offered a type we never saw. */
  | { status: 'changed'; entries: KnownHostEntry[] }
  /** This key is marked `@revoked`. */
  | { status: 'revoked'; entry: KnownHostEntry };

/**
 * The name under which OpenSSH files a host: `host` on port 22, `[host]:port` otherwise.
 * Hostnames are compared in lower case.
 */
export function knownHostsName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 ? lower : `[${lower}]:${port}`;
}

/** Parses the text of a known_hosts file; comments, blank and malformed lines are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i]!.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const fields = trimmed.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const name = fields.shift()!.slice(1);
      if (name !== 'cert-authority' && name !== 'revoked') continue;
      marker = name;
    }
    const [hosts, keyType, key] = fields;
    if (hosts === undefined || keyType === undefined || key === undefined) continue;
    entries.push({ line: i + 1, marker, hosts, keyType, key });
  }
  return entries;
}

/** Whether a known_hosts host field (patterns or one hashed name) names `name` (from `knownHostsName`). */
export function hostsFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) return hashedMatches(hosts, name);
  let matched = false;
  for (const raw of hosts.split(',')) {
    if (raw === '') continue;
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!globMatches(pattern, name)) continue;
    // A matching negated pattern rules the host out whatever else matches (sshd(8)).
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, as `ssh-keygen -H` and `HashKnownHosts yes` write. */
function hashedMatches(field: string, name: string): boolean {
  const [, , salt64, hash64] = field.split('|');
  if (!salt64 || !hash64) return false;
  const salt = Buffer.from(salt64, 'base64');
  const expected = Buffer.from(hash64, 'base64');
  const actual = createHmac('sha1', salt).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** OpenSSH host patterns: `*` any run of characters, `?` one character. */
function globMatches(pattern: string, name: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === name;
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return regex.test(name);
}

/** Decides whether `key` (the SSH wire blob the server offered) is the one known for `name`. */
export function checkHostKey(entries: KnownHostEntry[], name: string, key: Buffer): HostKeyVerdict {
  const offered = key.toString('base64');
  let known: KnownHostEntry | undefined;
  const others: KnownHostEntry[] = [];
  for (const entry of entries) {
    if (entry.marker === 'revoked') {
      // A revoked key is refused for every host.
      if (entry.key === offered) return { status: 'revoked', entry };
      continue;
    }
    // Certificate authorities sign host certificates, which this client does not ask for.
    if (entry.marker === 'cert-authority') continue;
    if (!hostsFieldMatches(entry.hosts, name)) continue;
    if (entry.key === offered) known ??= entry;
    else others.push(entry);
  }
  if (known) return { status: 'known', entry: known };
  return others.length > 0 ? { status: 'changed', entries: others } : { status: 'unknown' };
}

/** Reads and parses a known_hosts file; a missing file has no entries. */
export async function readKnownHosts(path: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Appends `name keytype base64` to the file (creating it 0600 and its directory 0700 if needed). */
export async function appendKnownHost(path: string, name: string, key: Buffer): Promise<string> {
  const line = knownHostsLine(name, key);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const current = await readFile(path, 'utf8');
    if (current.length > 0 && !current.endsWith('\n')) prefix = '\n';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await appendFile(path, `${prefix}${line}\n`, { mode: 0o600 });
  return line;
}

/** The known_hosts line that trusts `key` for `name`. */
export function knownHostsLine(name: string, key: Buffer): string {
  return `${name} ${keyTypeOf(key)} ${key.toString('base64')}`;
}

/** The key type named at the start of an SSH public key blob, e.g. `ssh-ed25519`. */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const length = key.readUInt32BE(0);
  if (length > key.length - 4 || length > 64) return 'unknown';
  return key.subarray(4, 4 + length).toString('latin1');
}

/** The fingerprint OpenSSH shows: `SHA256:` and unpadded base64 of the blob's SHA-256. */
export function fingerprintOf(key: Buffer | string): string {
  const blob = typeof key === 'string' ? Buffer.from(key, 'base64') : key;
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
