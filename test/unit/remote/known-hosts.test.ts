import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appendKnownHost, checkHostKey, fingerprint, hashedHostField, hostMatches, keyTypeOf, parseKnownHosts, preferredHostKeyAlgorithms,
  readKnownHostsFiles,
} from '../../../src/remote/known-hosts.js';

/** An ssh-ed25519 public key blob (SSH wire format) from a fresh key. */
function edBlob(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const str = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
}
const b64 = (b: Buffer): string => b.toString('base64');

const k1 = edBlob();
const k2 = edBlob();

test('fingerprint is OpenSSH SHA256 base64 without padding', () => {
  assert.equal(fingerprint(k1), `SHA256:${createHash('sha256').update(k1).digest('base64').replace(/=+$/, '')}`);
  assert.doesNotMatch(fingerprint(k1), /=$/);
  assert.equal(keyTypeOf(k1), 'ssh-ed25519');
});

test('host patterns: plain, [host]:port, wildcards, negation, hashed', () => {
  assert.ok(hostMatches('a,10.0.0.1', '10.0.0.1', 22));
  assert.ok(!hostMatches('10.0.0.1', '10.0.0.1', 2222), 'a non-22 port needs the [host]:port form');
  assert.ok(hostMatches('[10.0.0.1]:2222', '10.0.0.1', 2222));
  assert.ok(hostMatches('*.lab,!bad.lab', 'n1.lab', 22));
  assert.ok(!hostMatches('*.lab,!bad.lab', 'bad.lab', 22));
  assert.ok(hostMatches('node?', 'node7', 22));
  const h = hashedHostField('n1', 2200);
  assert.match(h, /^\|1\|[^|]+\|[^|]+$/);
  assert.ok(hostMatches(h, 'n1', 2200));
  assert.ok(!hostMatches(h, 'n1', 22));
  assert.ok(!hostMatches(h, 'n2', 2200));
});

test('parse: markers, comments, broken lines; check: known, unknown, changed, revoked', () => {
  const text = [
    '# comment',
    `n1 ssh-ed25519 ${b64(k1)} root@n1`,
    `@cert-authority *.lab ssh-ed25519 ${b64(k2)}`,
    `@revoked * ssh-ed25519 ${b64(k2)}`,
    'garbage line',
    `n9 ssh-rsa ${b64(k1)}`, // type does not match the blob: skipped
    `${hashedHostField('n2', 22)} ssh-ed25519 ${b64(k1)}`,
    `[n3]:2222 ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7`,
  ].join('\n');
  const e = parseKnownHosts(text);
  assert.deepEqual(e.map((x) => [x.line, x.marker ?? '']), [[2, ''], [3, 'cert-authority'], [4, 'revoked'], [7, ''], [8, '']]);
  assert.deepEqual(checkHostKey(e, 'n1', 22, k1), { kind: 'known', line: 2 });
  assert.deepEqual(checkHostKey(e, 'n2', 22, k1), { kind: 'known', line: 7 });
  assert.deepEqual(checkHostKey(e, 'n1', 22, k2), { kind: 'revoked', line: 4 });
  const k3 = edBlob();
  assert.deepEqual(checkHostKey(e, 'n1', 22, k3), { kind: 'changed', line: 2, keyType: 'ssh-ed25519', expected: fingerprint(k1) });
  assert.deepEqual(checkHostKey(e, 'n1', 2222, k3), { kind: 'unknown', knownTypes: [] });
  assert.deepEqual(checkHostKey(e, 'x.lab', 22, k3), { kind: 'unknown', knownTypes: [] }, 'a CA line is not a host key');
});

test('known key types are offered first (no "unknown" when the host also has another type)', () => {
  const e = parseKnownHosts(`n1 ssh-ed25519 ${b64(k1)}\n`);
  assert.equal(preferredHostKeyAlgorithms(e, 'n1', 22)[0], 'ssh-ed25519');
  const rsaOnly = [{ hosts: 'n1', keyType: 'ssh-rsa', key: Buffer.alloc(0), line: 1 }];
  assert.deepEqual(preferredHostKeyAlgorithms(rsaOnly, 'n1', 22).slice(0, 3), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
});

test('appendKnownHost writes OpenSSH lines (creating the file 0600) and they match', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-kh-'));
  try {
    const f = join(dir, 'ssh', 'known_hosts');
    appendKnownHost(f, 'n1', 22, k1);
    writeFileSync(f, readFileSync(f, 'utf8').trimEnd()); // no trailing newline: the next append adds one
    appendKnownHost(f, '10.0.0.2', 2222, k2);
    const text = readFileSync(f, 'utf8');
    assert.equal(text, `n1 ssh-ed25519 ${b64(k1)}\n[10.0.0.2]:2222 ssh-ed25519 ${b64(k2)}\n`);
    const e = parseKnownHosts(text);
    assert.equal(checkHostKey(e, '10.0.0.2', 2222, k2).kind, 'known');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('several known_hosts files (UserKnownHostsFile a b, GlobalKnownHostsFile): all read, a verdict names its file; HashKnownHosts writes hashed', () => {
  const d = mkdtempSync(join(tmpdir(), 'fp-kh-many-'));
  try {
    const first = join(d, 'first');
    const second = join(d, 'second');
    const global = join(d, 'global');
    writeFileSync(second, `# user file 2\nweb1 ssh-ed25519 ${b64(k1)}\n`);
    writeFileSync(global, `[web2]:2222 ssh-ed25519 ${b64(k1)}\n`);
    const entries = readKnownHostsFiles([first, second, global]);
    assert.deepEqual(checkHostKey(entries, 'web1', 22, k1), { kind: 'known', line: 2, file: second });
    assert.deepEqual(checkHostKey(entries, 'web2', 2222, k2), { kind: 'changed', line: 1, file: global, keyType: 'ssh-ed25519', expected: fingerprint(k1) });
    assert.equal(checkHostKey(entries, 'web3', 22, k2).kind, 'unknown');
    appendKnownHost(first, 'web3', 22, k2, true);
    const line = readFileSync(first, 'utf8');
    assert.match(line, /^\|1\|[^ ]+ ssh-ed25519 /);
    assert.ok(!line.includes('web3'));
    assert.deepEqual(checkHostKey(readKnownHostsFiles([first, second]), 'web3', 22, k2), { kind: 'known', line: 1, file: first });
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
