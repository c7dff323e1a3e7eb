/**
 * OpenSSH known_hosts handling (ssh2 verifies nothing by itself). Supports plain and hashed
 * (`|1|salt|hash`, HMAC-SHA1) host fields, `[host]:port` for non-22 ports, comma-separated patterns with
 * `*`/`?` wildcards and `!` negation, and the `@revoked` / `@cert-authority` markers (a revoked key is
 * refused; CA lines are recognised but not used, since ssh2 does not do host certificates).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KnownHostEntry {
  marker?: 'cert-authority' | 'revoked';
  /** the host field as written (patterns or a hashed entry) */
  hosts: string;
  keyType: string;
  key: Buffer;
  /** 1-based line number */
  line: number;
  /** the file it was read from (readKnownHostsFiles) */
  file?: string;
}

/** Parse known_hosts text; malformed lines are skipped (as OpenSSH does). */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const f = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (f[0]!.startsWith('@')) {
      const m = f.shift()!;
      if (m === '@cert-authority') marker = 'cert-authority';
      else if (m === '@revoked') marker = 'revoked';
      else return;
    }
    const [hosts, keyType, b64] = f;
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+=*$/.test(b64)) return;
    const key = Buffer.from(b64, 'base64');
    if (keyTypeOf(key) !== keyType) return; // the blob names its own type; a mismatch is a broken line
    out.push({ ...(marker ? { marker } : {}), hosts, keyType, key, line: i + 1 });
  });
  return out;
}

/** The host name as known_hosts writes it: "host" for port 22, "[host]:port" otherwise. */
export function hostField(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(p: string): RegExp {
  return new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
}

/** Does a known_hosts host field match host:port? */
export function hostMatches(hosts: string, host: string, port: number): boolean {
  const name = hostField(host, port);
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    const h = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return h === hash;
  }
  let matched = false;
  for (const pat of hosts.split(',')) {
    const neg = pat.startsWith('!');
    const p = neg ? pat.slice(1) : pat;
    if (globToRegExp(p).test(name)) {
      if (neg) return false;
      matched = true;
    }
  }
  return matched;
}

/** The key type named inside an SSH public key blob (first SSH string). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return '';
  const len = blob.readUInt32BE(0);
  if (len > 64 || blob.length < 4 + len) return '';
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** OpenSSH's fingerprint: "SHA256:" + base64 of the SHA-256 of the key blob, without padding. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export type HostKeyVerdict =
  | { kind: 'known'; line: number; file?: string }
  | { kind: 'unknown'; knownTypes: string[] }
  | { kind: 'changed'; line: number; file?: string; keyType: string; expected: string }
  | { kind: 'revoked'; line: number; file?: string };

const at = (e: KnownHostEntry): { line: number; file?: string } => ({ line: e.line, ...(e.file !== undefined ? { file: e.file } : {}) });

/** Check a presented host key against known_hosts entries (OpenSSH's order: revoked, match, changed). */
export function checkHostKey(entries: KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const type = keyTypeOf(key);
  for (const e of entries) if (e.marker === 'revoked' && e.key.equals(key)) return { kind: 'revoked', ...at(e) };
  const mine = entries.filter((e) => !e.marker && hostMatches(e.hosts, host, port));
  const same = mine.find((e) => e.key.equals(key));
  if (same) return { kind: 'known', ...at(same) };
  const sameType = mine.find((e) => e.keyType === type);
  if (sameType) return { kind: 'changed', ...at(sameType), keyType: type, expected: fingerprint(sameType.key) };
  return { kind: 'unknown', knownTypes: [...new Set(mine.map((e) => e.keyType))] };
}

/** ssh2's host key algorithms, reordered so the types known for this host come first (as OpenSSH does). */
export function preferredHostKeyAlgorithms(entries: KnownHostEntry[], host: string, port: number): string[] {
  const all = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  const known = new Set(entries.filter((e) => !e.marker && hostMatches(e.hosts, host, port)).map((e) => e.keyType));
  const isKnown = (alg: string): boolean => known.has(alg.startsWith('rsa-sha2-') ? 'ssh-rsa' : alg);
  return [...all.filter(isKnown), ...all.filter((a) => !isKnown(a))];
}

/** The line accept-new appends: the host field plain, or hashed with HashKnownHosts (off by default upstream, on in Debian's ssh_config). */
export function knownHostsLine(host: string, port: number, key: Buffer, hash = false): string {
  return `${hash ? hashedHostField(host, port) : hostField(host, port)} ${keyTypeOf(key)} ${key.toString('base64')}`;
}

/** A hashed host field, as `ssh-keygen -H` writes it (for tests and users who want hashing). */
export function hashedHostField(host: string, port: number, salt: Buffer = randomBytes(20)): string {
  const h = createHmac('sha1', salt).update(hostField(host, port)).digest('base64');
  return `|1|${salt.toString('base64')}|${h}`;
}

/** Read a known_hosts file; a missing file is empty. */
export function readKnownHosts(file: string): KnownHostEntry[] {
  if (file === '/dev/null' || !existsSync(file)) return [];
  return parseKnownHosts(readFileSync(file, 'utf8'));
}

/** Read several known_hosts files (UserKnownHostsFile, then GlobalKnownHostsFile), each entry naming its file. */
export function readKnownHostsFiles(files: readonly string[]): KnownHostEntry[] {
  return files.flatMap((file) => readKnownHosts(file).map((e) => ({ ...e, file })));
}

/** Append a host key (creating ~/.ssh 0700 and the file 0600 when absent); hashed with HashKnownHosts. */
export function appendKnownHost(file: string, host: string, port: number, key: Buffer, hash = false): void {
  if (file === '/dev/null') return;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  if (existsSync(file) && statSync(file).size > 0) {
    const text = readFileSync(file, 'utf8');
    if (!text.endsWith('\n')) prefix = '\n';
  }
  appendFileSync(file, `${prefix}${knownHostsLine(host, port, key, hash)}\n`, { mode: 0o600 });
}
