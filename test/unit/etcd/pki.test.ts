import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { caProblem, certProblem, createCa, issueCert, sansOf } from '../../../src/etcd/pki.js';
import { applyPki, planPki, pkiLayout, wantedCerts } from '../../../src/etcd/pki-store.js';

const WANT = { members: [{ name: 'h1', address: '198.18.1.11' }, { name: 'h2', address: '198.18.1.12' }], agents: ['h1', 'h2', 'n3'] };

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [join(dir, e.name), ...walk(join(dir, e.name))] : [join(dir, e.name)]));
}

test('a new PKI: CA + server/peer per member + a client per agent + the controller, SANs right, 0700/0600', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'fp-pki-')), 'inventory.etcd-pki');
  const plan = planPki(dir, WANT);
  assert.equal(plan.newCa, 'missing');
  assert.equal(plan.issue.length, 2 * 2 + 3 + 1);
  await applyPki(plan);
  const l = pkiLayout(dir);
  const ca = new X509Certificate(readFileSync(l.ca.cert));
  assert.ok(ca.ca);
  const server = new X509Certificate(readFileSync(l.memberServer('h1').cert));
  assert.deepEqual(sansOf(server), ['DNS:h1', 'DNS:localhost', 'IP:127.0.0.1', 'IP:198.18.1.11']);
  assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
  assert.deepEqual(sansOf(new X509Certificate(readFileSync(l.memberPeer('h2').cert))), ['DNS:h2', 'IP:198.18.1.12']);
  const agent = new X509Certificate(readFileSync(l.agent('n3').cert));
  assert.match(agent.subject, /CN=flanneld-n3/);
  assert.equal(agent.subjectAltName, undefined);
  assert.equal(agent.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), false, 'a client certificate is no server certificate');
  for (const p of [dir, ...walk(dir)]) {
    const mode = statSync(p).mode & 0o777;
    assert.equal(mode, statSync(p).isDirectory() ? 0o700 : 0o600, `${relative(dir, p) || '.'}: mode ${mode.toString(8)}`);
  }
  // the CA key is in the PKI directory only: no other file holds it
  const caKey = readFileSync(l.ca.key, 'utf8');
  for (const f of walk(dir).filter((p) => statSync(p).isFile() && p !== l.ca.key)) assert.ok(!readFileSync(f, 'utf8').includes(caKey.split('\n')[1]!), f);
  // nothing to do the second time
  const again = planPki(dir, WANT);
  assert.equal(again.newCa, undefined);
  assert.deepEqual(again.issue, []);
});

test('only what changed is issued again: a member with a new address, a new agent, a broken pair', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'fp-pki-')), 'p');
  await applyPki(planPki(dir, WANT));
  const l = pkiLayout(dir);
  writeFileSync(l.agent('h2').key, readFileSync(l.agent('h1').key));
  const plan = planPki(dir, { members: [{ name: 'h1', address: '198.18.1.21' }, WANT.members[1]!], agents: [...WANT.agents, 'n4'] });
  assert.equal(plan.newCa, undefined);
  assert.deepEqual(plan.issue.map((c) => `${c.spec.label}: ${c.why.replace(/, want.*/, '')}`).sort(), [
    'h1 peer: SANs are DNS:h1, IP:198.18.1.11', 'h1 server: SANs are DNS:h1, DNS:localhost, IP:127.0.0.1, IP:198.18.1.11',
    'h2 agent client: the key is not the certificate\'s', 'n4 agent client: missing',
  ]);
});

test('certProblem: another CA, an expiring certificate; caProblem: a leaf is no CA', async () => {
  const ca = await createCa('test CA');
  const other = await createCa('other CA');
  const spec = wantedCerts(pkiLayout('/x'), WANT)[0]!.spec;
  const c = await issueCert(ca, spec);
  assert.equal(certProblem(c, ca.certPem, spec), undefined);
  assert.equal(certProblem(c, other.certPem, spec), 'not signed by the CA');
  assert.match(certProblem(c, ca.certPem, spec, new Date(Date.now() + 1800 * 86_400_000)) ?? '', /^expires on/);
  assert.equal(certProblem({}, ca.certPem, spec), 'missing');
  assert.equal(caProblem(c), 'not a CA certificate');
  assert.equal(caProblem(ca), undefined);
});
