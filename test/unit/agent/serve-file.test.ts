import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startFileServer } from '../../../src/agent/serve-file.js';
import { createLogger } from '../../../src/agent/log.js';

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: Buffer; length?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts), ...(res.headers['content-length'] ? { length: res.headers['content-length'] } : {}) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const quiet = createLogger(0, 'test', () => undefined);

test('serve-file: serves the named files whole, 404 for others, 405 for other methods; stops when idle and removes its copies', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flanprov-serve-'));
  try {
    const content = randomBytes(3 << 20);
    writeFileSync(join(dir, 'agent'), content);
    writeFileSync(join(dir, 'agent.xz'), 'compressed');
    const srv = await startFileServer({
      listen: '127.0.0.1', port: 0, files: { '/agent': join(dir, 'agent'), '/agent.xz': join(dir, 'agent.xz') },
      allow: [], idleTimeoutS: 1, removeOnExit: [join(dir, 'agent.xz')],
    }, quiet);
    const r = await get(srv.port, '/agent');
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(content));
    const h = await get(srv.port, '/agent.xz', 'HEAD');
    assert.equal(h.status, 200);
    assert.equal(h.length, '10');
    assert.equal(h.body.length, 0);
    assert.equal((await get(srv.port, '/etc/passwd')).status, 404);
    assert.equal((await get(srv.port, '/agent', 'POST')).status, 405);
    const t0 = Date.now();
    await srv.done;
    assert.ok(Date.now() - t0 < 3000, 'stopped after the idle timeout');
    assert.ok(!existsSync(join(dir, 'agent.xz')), '--remove-on-exit removed');
    assert.ok(existsSync(join(dir, 'agent')), 'other files kept');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serve-file: only --allow addresses may fetch; stop() ends it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flanprov-serve-'));
  try {
    writeFileSync(join(dir, 'agent'), 'x');
    const srv = await startFileServer({ listen: '127.0.0.1', port: 0, files: { '/agent': join(dir, 'agent') }, allow: ['198.18.0.12'], idleTimeoutS: 60, removeOnExit: [] }, quiet);
    assert.equal((await get(srv.port, '/agent')).status, 403);
    srv.stop();
    await srv.done;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
