/**
 * The controller's PKI directory for a managed etcd (next to the inventory, mode 0700; docs/etcd.md): the CA
 * and its key — which never leave this directory —, each member's server and peer certificates, each
 * agent's and the controller's client certificate, every file mode 0600. `planPki` says what must be issued
 * (pure over what is read), `applyPki` issues it; a run with nothing to issue writes nothing.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { caProblem, certProblem, createCa, issueCert, type CertSpec, type KeyPairPem } from './pki.js';
import type { MemberAddress } from './member-layout.js';

export interface PemFiles { cert: string; key: string }

export const PKI_DIR_MODE = 0o700;
export const PKI_FILE_MODE = 0o600;

export interface PkiLayout {
  dir: string;
  ca: PemFiles;
  controller: PemFiles;
  /** the cluster record (cluster-record.ts) */
  record: string;
  memberServer(name: string): PemFiles;
  memberPeer(name: string): PemFiles;
  agent(name: string): PemFiles;
}

export function pkiLayout(dir: string): PkiLayout {
  const pair = (base: string): PemFiles => ({ cert: join(dir, `${base}.pem`), key: join(dir, `${base}-key.pem`) });
  return {
    dir,
    ca: pair('ca'),
    controller: pair('controller'),
    record: join(dir, 'cluster.json'),
    memberServer: (n) => pair(join('members', n, 'server')),
    memberPeer: (n) => pair(join('members', n, 'peer')),
    agent: (n) => pair(join('agents', n)),
  };
}

export interface PkiWanted {
  members: readonly MemberAddress[];
  /** hosts that run the agent (each gets its own client certificate) */
  agents: readonly string[];
}

export interface WantedCert {
  spec: CertSpec;
  files: PemFiles;
}

/** Every certificate the cluster needs. Member SANs: its name, its address, and loopback (tools and tunnels on the member). */
export function wantedCerts(layout: PkiLayout, w: PkiWanted): WantedCert[] {
  const out: WantedCert[] = [];
  for (const m of w.members) {
    out.push({ files: layout.memberServer(m.name), spec: { label: `${m.name} server`, commonName: m.name, dns: [m.name, 'localhost'], ips: [m.address, '127.0.0.1'], usage: 'server' } });
    out.push({ files: layout.memberPeer(m.name), spec: { label: `${m.name} peer`, commonName: m.name, dns: [m.name], ips: [m.address], usage: 'peer' } });
  }
  for (const a of w.agents) out.push({ files: layout.agent(a), spec: { label: `${a} agent client`, commonName: `flanneld-${a}`, dns: [], ips: [], usage: 'client' } });
  out.push({ files: layout.controller, spec: { label: 'controller client', commonName: 'flanprov', dns: [], ips: [], usage: 'client' } });
  return out;
}

function readPair(f: PemFiles): Partial<KeyPairPem> {
  const read = (p: string): string | undefined => (existsSync(p) ? readFileSync(p, 'utf8') : undefined);
  const certPem = read(f.cert);
  const keyPem = read(f.key);
  return { ...(certPem ? { certPem } : {}), ...(keyPem ? { keyPem } : {}) };
}

export interface PkiPlan {
  layout: PkiLayout;
  /** why a new CA is made (then every certificate is issued again); undefined: the CA is kept */
  newCa?: string;
  issue: (WantedCert & { why: string })[];
  /** the directory exists with a mode other than 0700 (it is set to 0700) */
  fixDirMode?: number;
}

/** What must be issued, from what the directory holds (reads files, writes nothing). */
export function planPki(dir: string, w: PkiWanted, now = new Date()): PkiPlan {
  const layout = pkiLayout(dir);
  const wanted = wantedCerts(layout, w);
  const plan: PkiPlan = { layout, issue: [] };
  if (existsSync(dir)) {
    const mode = statSync(dir).mode & 0o777;
    if (mode !== PKI_DIR_MODE) plan.fixDirMode = mode;
  }
  const ca = readPair(layout.ca);
  const bad = caProblem(ca, now);
  if (bad) {
    plan.newCa = bad;
    plan.issue = wanted.map((c) => ({ ...c, why: 'new CA' }));
    return plan;
  }
  for (const c of wanted) {
    const why = certProblem(readPair(c.files), ca.certPem!, c.spec, now);
    if (why) plan.issue.push({ ...c, why });
  }
  return plan;
}

/** Writes a file 0600 atomically (temporary name, then rename) in a 0700 directory. */
export function writePrivate(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: PKI_DIR_MODE });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode: PKI_FILE_MODE });
  chmodSync(tmp, PKI_FILE_MODE);
  renameSync(tmp, path);
}

/** Issues what the plan says (a new CA first), all certificates at once. Returns the labels issued. */
export async function applyPki(plan: PkiPlan, commonName = 'flanprov etcd CA'): Promise<string[]> {
  const { layout } = plan;
  mkdirSync(layout.dir, { recursive: true, mode: PKI_DIR_MODE });
  chmodSync(layout.dir, PKI_DIR_MODE);
  let ca: KeyPairPem;
  if (plan.newCa) {
    ca = await createCa(commonName);
    // the key first: a CA certificate without its key is no CA
    writePrivate(layout.ca.key, ca.keyPem);
    writePrivate(layout.ca.cert, ca.certPem);
  } else {
    ca = readPair(layout.ca) as KeyPairPem;
  }
  const issued = await Promise.all(plan.issue.map(async (c) => ({ c, kp: await issueCert(ca, c.spec) })));
  for (const { c, kp } of issued) {
    writePrivate(c.files.key, kp.keyPem);
    writePrivate(c.files.cert, kp.certPem);
  }
  return plan.issue.map((c) => c.spec.label);
}
