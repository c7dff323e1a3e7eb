/**
 * signPublickeyAtOnce against an ssh2 server on loopback: what the server is asked, request by request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client, Server, utils } from 'ssh2';
import { signPublickeyAtOnce } from '../../../src/remote/ssh-auth.js';

const hostKey = utils.generateKeyPairSync('ed25519').private;

interface Seen { method: string; signed: boolean; verified?: boolean }

/** A server that takes `accepted` (an OpenSSH public key line) only, logging every auth request. */
async function withServer<T>(accepted: string, fn: (port: number, seen: Seen[]) => Promise<T>): Promise<T> {
  const want = utils.parseKey(accepted);
  if (want instanceof Error) throw want;
  const seen: Seen[] = [];
  const server = new Server({ hostKeys: [hostKey] }, (conn) => {
    conn.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') { seen.push({ method: ctx.method, signed: false }); return ctx.reject(['publickey']); }
      const same = ctx.key.algo === want.type && ctx.key.data.equals(want.getPublicSSH());
      if (!ctx.signature) {
        seen.push({ method: 'publickey', signed: false });
        return same ? ctx.accept() : ctx.reject(['publickey']);
      }
      const verified = same && want.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true;
      seen.push({ method: 'publickey', signed: true, verified });
      return verified ? ctx.accept() : ctx.reject(['publickey']);
    });
    conn.on('ready', () => undefined);
    conn.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await fn((server.address() as AddressInfo).port, seen);
  } finally {
    server.close();
  }
}

function login(port: number, keys: string[], patch: boolean): Promise<'ready' | string> {
  return new Promise((resolve) => {
    const c = new Client();
    c.on('ready', () => { c.end(); resolve('ready'); });
    c.on('error', (e) => { c.end(); resolve(e.message); });
    c.connect({ host: '127.0.0.1', port, username: 'u', authHandler: keys.map((key) => ({ type: 'publickey', username: 'u', key })) as never, hostVerifier: () => true });
    if (patch) assert.equal(signPublickeyAtOnce(c), true);
  });
}

const ed = utils.generateKeyPairSync('ed25519');
const other = utils.generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'pkcs1', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
const rsaPub = (): string => {
  const k = utils.parseKey(rsa.privateKey);
  if (k instanceof Error) throw k;
  return `ssh-rsa ${k.getPublicSSH().toString('base64')}`;
};

test('unpatched ssh2 asks first, then signs: two requests for one key (what the patch removes)', async () => {
  await withServer(ed.public, async (port, seen) => {
    assert.equal(await login(port, [ed.private], false), 'ready');
    assert.deepEqual(seen, [{ method: 'publickey', signed: false }, { method: 'publickey', signed: true, verified: true }]);
  });
});

test('patched: the signed request at once, one request for the key the server takes', async () => {
  await withServer(ed.public, async (port, seen) => {
    assert.equal(await login(port, [ed.private], true), 'ready');
    assert.deepEqual(seen, [{ method: 'publickey', signed: true, verified: true }]);
  });
});

test('patched: a refused key, then the next one; an RSA key signs with the hash its algorithm names', async () => {
  await withServer(ed.public, async (port, seen) => {
    assert.equal(await login(port, [other.private, ed.private], true), 'ready');
    assert.deepEqual(seen, [{ method: 'publickey', signed: true, verified: false }, { method: 'publickey', signed: true, verified: true }]);
  });
  await withServer(rsaPub(), async (port, seen) => {
    assert.equal(await login(port, [rsa.privateKey], true), 'ready');
    assert.deepEqual(seen, [{ method: 'publickey', signed: true, verified: true }]);
  });
});

test('patched: no key the server takes is still an authentication failure', async () => {
  await withServer(ed.public, async (port, seen) => {
    assert.match(await login(port, [other.private], true), /authentication methods failed/);
    assert.deepEqual(seen, [{ method: 'publickey', signed: true, verified: false }]);
  });
});
