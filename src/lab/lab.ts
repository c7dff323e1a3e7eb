/**
 * `flanprov lab up|down|status|rootfs`: orchestration only. Each concern lives in its own module:
 * plan.ts (names, addresses), state.ts (the record), rootfs.ts, net.ts, hosts.ts, ssh-keys.ts, etcd.ts,
 * tls.ts, probe-image.ts, inventory.ts, cleanup.ts.
 */
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureRootfs } from './rootfs.js';
import { makePlan, validateHosts, validateName, allNamespaces, type Topology } from './plan.js';
import { STATE_VERSION, readState, writeState, withLabsLock, usedIndices, pidAlive, listLabNames, type LabState, type HostState } from './state.js';
import { assertNamesFree, createUnderlay, destroyUnderlay, netnsExists, probeKernel, rootUsesIndex, namespacesWithPrefix } from './net.js';
import { bootHost, prepareHostRoot, stopHosts, unmountUnder, waitGuestInit, waitSshPort } from './hosts.js';
import { ensureClientKey, installHostKeys, writeKnownHosts } from './ssh-keys.js';
import { etcdDataDir, etcdEndpoint, startEtcd, waitEtcd } from './etcd.js';
import { makeEtcdTls, tlsFiles, type TlsFiles } from './tls.js';
import { PROBE_IMAGE, readyAndImportProbe } from './probe-image.js';
import { writeInventory } from './inventory.js';
import { removeHostCgroups, removeNspawnRunDirIfUnused } from './cleanup.js';
import { clientKey, inventoryFile, knownHostsFile, labDir, logDir } from './paths.js';
import { pollUntil } from './exec.js';
import { progress } from './progress.js';
import { FlanprovError, InvalidInputError, StepFailedError, ExitCode } from '../util/errors.js';

export interface UpOptions {
  name: string;
  hosts: number;
  topology: Topology;
  etcdTls: boolean;
}

export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new FlanprovError('flanprov lab needs root (network namespaces, mounts, systemd-nspawn)', ExitCode.INVALID_INPUT, 'lab', 'run it with sudo');
  }
}

/** Everything recorded is alive: hosts' nspawn and init, etcd, namespaces. */
export function labHealthy(s: LabState): boolean {
  return s.status === 'up'
    && s.hosts.every((h) => pidAlive(h.nspawnPid) && pidAlive(h.initPid))
    && pidAlive(s.etcd.pid)
    && allNamespaces(s.plan).every(netnsExists);
}

export async function labUp(o: UpOptions): Promise<LabState> {
  requireRoot();
  validateName(o.name);
  validateHosts(o.hosts);
  if (o.topology !== 'l2' && o.topology !== 'routed') throw new InvalidInputError(`--topology must be l2 or routed, got "${o.topology}"`, 'lab');
  if (o.topology === 'routed' && o.hosts < 2) throw new InvalidInputError('--topology routed needs at least 2 hosts (the last one sits behind the router)', 'lab');
  const t0 = Date.now();
  const existing = readState(o.name);
  if (existing) {
    if (labHealthy(existing)) {
      progress(`lab "${o.name}" is already up (${existing.topology}, ${existing.hosts.length} hosts): nothing to do`);
      if (existing.hosts.length !== o.hosts || existing.topology !== o.topology || existing.etcdTls !== o.etcdTls) {
        progress(`note: it was made with different options; run \`flanprov lab down --name ${o.name}\` first to change them`);
      }
      printNext(existing);
      return existing;
    }
    progress(`lab "${o.name}" exists but is not fully up: removing its remains first`);
    await labDown(o.name);
  }
  const rootfs = await ensureRootfs();

  const state = await withLabsLock(async () => {
    const used = usedIndices();
    let index = -1;
    for (let k = 0; k < 256; k++) {
      if (!used.has(k) && !(await rootUsesIndex(k))) {
        index = k;
        break;
      }
    }
    if (index < 0) throw new StepFailedError('no free lab index (198.18.k.0/24) left', 'lab');
    const plan = makePlan(o.name, index, o.topology, o.hosts);
    await assertNamesFree(plan);
    await probeKernel(`fpl-${o.name}-probe`);
    const s: LabState = {
      version: STATE_VERSION, name: o.name, index, topology: o.topology, etcdTls: o.etcdTls, status: 'starting',
      createdAt: new Date().toISOString(), rootfs: rootfs.rootfs, plan,
      etcd: { endpoint: etcdEndpoint(plan, o.etcdTls), dataDir: etcdDataDir(o.name) },
      hosts: plan.hosts.map((h) => ({ name: h.name, ns: h.ns, ip: h.ip, merged: '' })),
      cgroupNames: plan.hosts.map((h) => h.ns),
    };
    writeState(s); // from here on, `lab down` can remove whatever exists
    return s;
  });
  const plan = state.plan;
  let etcdJob: Promise<void> | undefined;
  try {
    progress(`underlay: ${plan.lanCidr}${o.topology === 'routed' ? ` + ${plan.routedCidr} behind router ${plan.routerIp}` : ''}, root veth ${plan.rootVeth} ${plan.rootIp}`);
    const underlay = createUnderlay(plan);
    etcdJob = (async () => {
      const tls: TlsFiles | undefined = o.etcdTls ? await makeEtcdTls(o.name, plan.etcdIp) : undefined;
      await underlay; // etcd's namespace
      state.etcd.pid = startEtcd(plan, tls);
      writeState(state);
      await waitEtcd(state.etcd.pid, state.etcd.endpoint, tls);
      progress(`etcd healthy at ${state.etcd.endpoint}`);
    })();
    etcdJob.catch(() => undefined); // awaited below; never an unhandled rejection if preparing fails first
    // A host's root (overlay mount, hostname, host key, authorized_keys) does not need the underlay:
    // prepare the roots while the namespaces are made.
    const roots = (async () => {
      const clientPub = await ensureClientKey(o.name);
      return settleAll(plan.hosts.map(async (h, i) => {
        const d = await prepareHostRoot(o.name, h, rootfs.rootfs);
        state.hosts[i]!.merged = d.merged;
        return { dirs: d, hostKey: await installHostKeys(d.merged, h.name, clientPub) };
      }));
    })();
    await settleAll<unknown>([underlay, roots]);
    const prepared = await roots;
    writeKnownHosts(o.name, plan.hosts.map((h, i) => ({ ip: h.ip, hostKey: prepared[i]!.hostKey })));

    progress(`booting ${plan.hosts.length} hosts (systemd-nspawn, overlay on ${rootfs.dir})`);
    const probeTar = readFileSync(rootfs.probeTar); // the same bytes go to every host
    let ready = 0;
    // settle all: on a failure, let the other steps finish (or fail) before the cleanup tears things down
    await settleAll<unknown>([
      etcdJob,
      ...plan.hosts.map(async (h, i) => {
        const hs = state.hosts[i]!;
        hs.nspawnPid = bootHost(o.name, h, prepared[i]!.dirs);
        writeState(state); // recorded before anything else can fail
        hs.initPid = await waitGuestInit(hs.nspawnPid, hs.name);
        writeState(state);
        await waitSshPort(hs.ip, hs.name, hs.nspawnPid);
        await readyAndImportProbe(o.name, hs.name, hs.ip, probeTar);
        ready++;
        progress(`${hs.name} ${hs.ip} ready (${ready}/${state.hosts.length}): systemd running, docker up, ${PROBE_IMAGE} imported`);
      }),
    ]);
    writeInventory(plan, state.etcd.endpoint, o.etcdTls ? tlsFiles(o.name) : undefined);
    state.status = 'up';
    state.upSeconds = (Date.now() - t0) / 1000;
    writeState(state);
    progress(`lab "${o.name}" up in ${state.upSeconds.toFixed(1)} s`);
    printNext(state);
    return state;
  } catch (e) {
    // leave nothing running or mounted behind a failed `up`; keep the logs for the diagnosis
    progress(`lab up failed: removing what was created (logs kept in ${logDir(o.name)})`);
    await etcdJob?.catch(() => undefined); // etcd must not start after the cleanup
    try {
      await labDown(o.name, { keepLogs: true });
    } catch (cleanupErr) {
      progress(`cleanup failed too (${(cleanupErr as Error).message}); run \`flanprov lab down --name ${o.name}\``);
    }
    throw e;
  }
}

/** Like Promise.all, but waits for every promise before rejecting with the first error. */
async function settleAll<T>(ps: Array<Promise<T>>): Promise<T[]> {
  const rs = await Promise.allSettled(ps);
  const bad = rs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (bad) throw bad.reason;
  return rs.map((r) => (r as PromiseFulfilledResult<T>).value);
}

function printNext(s: LabState): void {
  const h = s.hosts[0]!;
  process.stdout.write(
    `inventory: ${inventoryFile(s.name)}\n` +
    `next:      flanprov up -i ${inventoryFile(s.name)}\n` +
    `ssh:       ssh -i ${clientKey(s.name)} -o UserKnownHostsFile=${knownHostsFile(s.name)} root@${h.ip}\n`,
  );
}

async function stopEtcd(pid: number | undefined): Promise<void> {
  if (!pidAlive(pid)) return;
  try {
    process.kill(pid!, 'SIGTERM');
  } catch {
    return;
  }
  if (await pollUntil(() => !pidAlive(pid), 3000, 50)) return;
  try {
    process.kill(pid!, 'SIGKILL');
  } catch {
    /* gone */
  }
  await pollUntil(() => !pidAlive(pid), 2000, 50);
}

export async function labDown(name: string, opts: { keepLogs?: boolean } = {}): Promise<boolean> {
  requireRoot();
  validateName(name);
  const s = readState(name);
  if (!s) {
    const foreign = namespacesWithPrefix(`fpl-${name}-`);
    progress(`no lab "${name}": nothing to do${foreign.length ? ` (namespaces ${foreign.join(', ')} exist but are not recorded as ours; left alone)` : ''}`);
    return false;
  }
  const t0 = Date.now();
  progress(`stopping lab "${name}" (${s.hosts.length} hosts)`);
  await Promise.all([stopHosts(s.hosts, progress), stopEtcd(s.etcd.pid)]);
  await unmountUnder(labDir(name));
  await destroyUnderlay(s.plan);
  removeHostCgroups(s.cgroupNames);
  removeNspawnRunDirIfUnused();
  if (opts.keepLogs && existsSync(logDir(name))) {
    for (const e of readdirSync(labDir(name))) if (join(labDir(name), e) !== logDir(name)) rmSync(join(labDir(name), e), { recursive: true, force: true });
  } else rmSync(labDir(name), { recursive: true, force: true });
  progress(`lab "${name}" down in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return true;
}

export interface HostStatus {
  name: string;
  ip: string;
  ns: string;
  running: boolean;
  nspawnPid?: number;
  initPid?: number;
}

export interface LabStatus {
  name: string;
  state: 'up' | 'starting' | 'degraded';
  index: number;
  topology: Topology;
  underlay: string;
  routedSubnet?: string;
  rootVeth: string;
  etcd: { endpoint: string; running: boolean; tls: boolean };
  inventory?: string;
  knownHosts: string;
  sshKey: string;
  hosts: HostStatus[];
}

export function labStatus(s: LabState): LabStatus {
  const hosts: HostStatus[] = s.hosts.map((h: HostState) => ({
    name: h.name, ip: h.ip, ns: h.ns, running: pidAlive(h.nspawnPid) && pidAlive(h.initPid), nspawnPid: h.nspawnPid, initPid: h.initPid,
  }));
  const healthy = labHealthy(s);
  return {
    name: s.name,
    state: healthy ? 'up' : s.status === 'starting' ? 'starting' : 'degraded',
    index: s.index,
    topology: s.topology,
    underlay: s.plan.lanCidr,
    routedSubnet: s.topology === 'routed' ? s.plan.routedCidr : undefined,
    rootVeth: `${s.plan.rootVeth} ${s.plan.rootIp}`,
    etcd: { endpoint: s.etcd.endpoint, running: pidAlive(s.etcd.pid), tls: s.etcdTls },
    inventory: existsSync(inventoryFile(s.name)) ? inventoryFile(s.name) : undefined,
    knownHosts: knownHostsFile(s.name),
    sshKey: clientKey(s.name),
    hosts,
  };
}

/** Status of one lab, or of all labs when name is undefined. */
export function labStatuses(name?: string): LabStatus[] {
  const names = name ? [name] : listLabNames();
  return names.map((n) => readState(n)).filter((s): s is LabState => !!s).map(labStatus);
}
