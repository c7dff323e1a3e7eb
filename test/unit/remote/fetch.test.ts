import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodingOfUrl, fetchScript, type FetchSpec } from '../../../src/remote/fetch.js';
import { sha256Of, tempNameFor, UPLOAD_INCOMPLETE_EXIT } from '../../../src/remote/upload.js';

const AGENT = randomBytes(2 << 20);
const FILES: Record<string, Buffer> = {
  '/agent': AGENT,
  '/agent.xz': execFileSync('xz', ['-c', '-1'], { input: AGENT, maxBuffer: 1 << 26 }),
  '/agent.gz': gzipSync(AGENT),
  '/other': randomBytes(AGENT.length),
};
const dir = mkdtempSync(join(tmpdir(), 'fp-fetch-'));
let origin: Server;
let proxy: Server;
let originPort = 0;
let proxyPort = 0;
const proxied: string[] = [];
let shortRequests = 0;

function listen(s: Server): Promise<number> {
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));
}

before(async () => {
  origin = createServer((req, res) => {
    if (req.url === '/short') {
      shortRequests++;
      // a connection cut mid-body
      res.writeHead(200, { 'content-length': AGENT.length });
      res.write(AGENT.subarray(0, 1000), () => res.destroy());
      return;
    }
    const body = FILES[req.url ?? ''];
    if (!body) return void res.writeHead(404).end('no\n');
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  // a forward proxy for plain http (absolute-URI requests), as squid is for curl, wget and /dev/tcp
  proxy = createServer((req, res) => {
    proxied.push(req.url ?? '');
    const u = new URL(req.url ?? '');
    const up = request({ host: u.hostname, port: u.port, path: u.pathname, method: req.method }, (r) => {
      const { connection: _c, 'keep-alive': _k, ...headers } = r.headers;
      res.writeHead(r.statusCode ?? 502, headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    up.end();
  });
  originPort = await listen(origin);
  proxyPort = await listen(proxy);
});

after(() => {
  origin.close();
  proxy.close();
  rmSync(dir, { recursive: true, force: true });
});

const BASE_TOOLS = ['bash', 'cat', 'head', 'tee', 'sha256sum', 'stat', 'cut', 'mkdir', 'chmod', 'mv', 'rm', 'find', 'timeout', 'xz', 'gzip'];

/** A PATH with only these tools (a host without curl or wget, or with one of them). */
function toolsDir(extra: string[]): string {
  const d = join(dir, `bin-${extra.join('-') || 'none'}`);
  mkdirSync(d, { recursive: true });
  for (const t of [...BASE_TOOLS, ...extra]) {
    // busybox-wget: busybox's wget applet, as small images have it (no -T, -t, --waitretry)
    const [name, bin] = t === 'busybox-wget' ? ['wget', 'busybox'] : [t, t];
    try { symlinkSync(execFileSync('bash', ['-c', `command -v ${bin}`]).toString().trim(), join(d, name)); } catch { /* exists */ }
  }
  return d;
}

interface Run { code: number; stderr: string; got?: Buffer }

let n = 0;
function fetchInto(f: Partial<FetchSpec> & { url: string }, tools: string[], env: Record<string, string> = {}): Promise<Run> {
  const target = join(dir, `host${n++}`, 'flanneld');
  mkdirSync(join(target, '..'), { recursive: true });
  writeFileSync(target, 'OLD');
  const script = fetchScript({ path: target, mode: 0o755, bytes: AGENT.length, sha256: sha256Of(AGENT) }, tempNameFor(target), { encoding: 'plain', timeoutS: 20, ...f });
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { env: { PATH: toolsDir(tools), HOME: dir, ...env }, maxBuffer: 1 << 26 }, (err, _out, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stderr, got: readFileSync(target) });
    });
  });
}

const url = (p: string) => `http://127.0.0.1:${originPort}${p}`;

for (const tools of [[], ['curl'], ['wget'], ['busybox-wget']]) {
  const via = tools[0] ?? 'bash /dev/tcp';
  test(`fetch with ${via}: plain, xz and gzip bodies decoded and verified into place`, async () => {
    for (const [p, encoding] of [['/agent', 'plain'], ['/agent.xz', 'xz'], ['/agent.gz', 'gzip']] as const) {
      const r = await fetchInto({ url: url(p), encoding }, tools);
      assert.equal(r.code, 0, `${p}: ${r.stderr}`);
      assert.ok(r.got!.equals(AGENT), p);
    }
  });

  test(`fetch with ${via}: 404, another file, a short body: exit ${UPLOAD_INCOMPLETE_EXIT}, the old file untouched`, async () => {
    const missing = await fetchInto({ url: url('/nope') }, tools);
    assert.equal(missing.code, UPLOAD_INCOMPLETE_EXIT);
    assert.match(missing.stderr, /404|failed/);
    assert.equal(missing.got!.toString(), 'OLD');
    const other = await fetchInto({ url: url('/other') }, tools);
    assert.equal(other.code, UPLOAD_INCOMPLETE_EXIT);
    assert.match(other.stderr, /corrupted: sha256/);
    assert.equal(other.got!.toString(), 'OLD');
    shortRequests = 0;
    const short = await fetchInto({ url: url('/short') }, tools);
    assert.equal(short.code, UPLOAD_INCOMPLETE_EXIT);
    // a cut body is retried at most once (GNU wget's default is 20 tries, 10 s apart)
    assert.ok(shortRequests <= 2, `${shortRequests} requests for a cut body`);
    assert.equal(short.got!.toString(), 'OLD');
  });

  test(`fetch with ${via}: through the given proxy, the host's http_proxy or its /etc/environment; no_proxy and direct go around them`, async () => {
    proxied.length = 0;
    const given = await fetchInto({ url: url('/agent'), proxy: `http://127.0.0.1:${proxyPort}` }, tools);
    assert.equal(given.code, 0, given.stderr);
    assert.deepEqual(proxied, [url('/agent')]);
    proxied.length = 0;
    const env = await fetchInto({ url: url('/agent.gz'), encoding: 'gzip' }, tools, { http_proxy: `http://127.0.0.1:${proxyPort}` });
    assert.equal(env.code, 0, env.stderr);
    assert.deepEqual(proxied, [url('/agent.gz')]);
    proxied.length = 0;
    const root = join(dir, `root-${via.replace(/\W/g, '')}`);
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc/environment'), `PATH="/usr/bin"\nhttp_proxy="http://127.0.0.1:${proxyPort}"\n`);
    const etc = await fetchInto({ url: url('/agent') }, tools, { FLANPROV_FAKE_ROOT: root });
    assert.equal(etc.code, 0, etc.stderr);
    assert.deepEqual(proxied, [url('/agent')]);
    proxied.length = 0;
    const direct = await fetchInto({ url: url('/agent'), direct: true }, tools, { http_proxy: 'http://127.0.0.1:1' });
    assert.equal(direct.code, 0, direct.stderr);
    const exempt = await fetchInto({ url: url('/agent') }, tools, { http_proxy: 'http://127.0.0.1:1', no_proxy: 'example.org,127.0.0.1' });
    assert.equal(exempt.code, 0, exempt.stderr);
    assert.deepEqual(proxied, []);
  });
}

test('fetch: https with neither curl nor wget is refused with what to install', async () => {
  const r = await fetchInto({ url: 'https://mirror.example/flanneld.xz', encoding: 'xz' }, []);
  assert.equal(r.code, UPLOAD_INCOMPLETE_EXIT);
  assert.match(r.stderr, /needs curl or wget on the host/);
  assert.equal(r.got!.toString(), 'OLD');
});

test('fetch direct with connectTimeoutS: a server that accepts in time is fetched from; one that does not is named, exit 7, old file kept', async () => {
  const ok = await fetchInto({ url: url('/agent'), direct: true, connectTimeoutS: 2 }, []);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(ok.got!.equals(AGENT));
  // a port nobody listens on (the listener closed again)
  const closed = createServer();
  const port = await listen(closed);
  await new Promise((r) => closed.close(r));
  const t0 = Date.now();
  const r = await fetchInto({ url: `http://127.0.0.1:${port}/agent`, direct: true, connectTimeoutS: 2 }, ['curl']);
  assert.equal(r.code, 7, r.stderr);
  assert.match(r.stderr, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port} within 2 s`));
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(r.got!.toString(), 'OLD');
});

test('fetch: keepAt keeps the body as it arrived', async () => {
  const keep = join(dir, 'serve', 'flanneld.xz');
  const r = await fetchInto({ url: url('/agent.xz'), encoding: 'xz', keepAt: keep }, []);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(readFileSync(keep).equals(FILES['/agent.xz']!));
});

test('encodingOfUrl: by the name, query and fragment ignored', () => {
  assert.equal(encodingOfUrl('https://m.example/a/flanneld-0.1.0.xz'), 'xz');
  assert.equal(encodingOfUrl('https://m.example/flanneld.gz?sig=1'), 'gzip');
  assert.equal(encodingOfUrl('http://m.example/flanneld#x.xz'), 'plain');
  assert.equal(encodingOfUrl('http://m.example/flanneld'), 'plain');
});
