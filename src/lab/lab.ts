/**
 * `flanprov lab up|down|status|rootfs`: orchestration only. Each concern lives in its own module:
 * plan.ts (names, addresses), state.ts (the record), rootfs.ts, net.ts, hosts.ts, ssh-keys.ts, etcd.ts,
 * tls.ts, probe-image.ts, inventory.ts, cleanup.ts.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureRootfs } from './rootfs.js';
import { hostNames, makePlan, validateHosts, validateName, allNamespaces, type Topology } from './plan.js';
import { STATE_VERSION, readState, writeState, withLabsLock, usedIndices, pidAlive, listLabNames, type LabState, type HostState } from './state.js';
import { assertNamesFree, createUnderlay, destroyUnderlay, hostNicRebuild, netnsExists, probeKernel, rootUsesIndex, namespacesWithPrefix } from './net.js';
import { bootHost, currentNspawn, hostRootPid, liveInit, prepareHostRoot, processTable, stopHosts, unmountUnder, waitGuestInit, waitSshPort } from './hosts.js';
import { ensureClientKey, installHostKeys, writeKnownHosts } from './ssh-keys.js';
import { etcdDataDir, etcdEndpoint, startEtcd, waitEtcd } from './etcd.js';
import { makeEtcdTls, tlsFiles, type TlsFiles } from './tls.js';
import { PROBE_IMAGE, readyAndImportProbe } from './probe-image.js';
import { etcdGroupHosts, writeInventory } from './inventory.js';
import { describeWan, startWan, waitWanReady, type WanSpec } from './wan.js';
import { formatRuntimes, type Runtime } from './runtime.js';
import { removeHostCgroups, removeNspawnRunDirIfUnused } from './cleanup.js';
import { clientKey, inventoryFile, knownHostsFile, labDir, logDir } from './paths.js';
import { pollUntil } from './exec.js';
import { ensureInotifyInstances } from './limits.js';
import { progress } from './progress.js';
import { FlanprovError, InvalidInputError, StepFailedError, ExitCode } from '../util/errors.js';

export interface UpOptions {
  name: string;
  hosts: number;
  topology: Topology;
  etcdTls: boolean;
  /** --wan RTT,RATE (wan.ts) */
  wan?: WanSpec;
  /** --no-etcd: no lab etcd; the inventory gets an `etcd` group of hosts */
  noEtcd?: boolean;
  /** --etcd-v2: the lab etcd also serves the v2 API */
  etcdV2?: boolean;
  /** --runtime, per host in order (runtime.ts); default: docker everywhere */
  runtimes?: Runtime[];
}

export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new FlanprovError('flanprov lab needs root (network namespaces, mounts, systemd-nspawn)', ExitCode.INVALID_INPUT, 'lab', 'run it with sudo');
  }
}

/** Everything recorded is alive: hosts (supervisor and guest init), etcd, the WAN forwarder, namespaces. */
export function labHealthy(s: LabState): boolean {
  return s.status === 'up'
    && s.hosts.every((h) => liveInit(h) !== undefined)
    && (!s.etcd || pidAlive(s.etcd.pid))
    && (!s.plan.wan || pidAlive(s.wan?.pid))
    && allNamespaces(s.plan).every(netnsExists);
}

/** The options a lab was made with, as one comparable line (for the "made with different options" note). */
function optionsLine(o: { hosts: number; topology: Topology; etcdTls: boolean; wan?: string; noEtcd?: boolean; etcdV2?: boolean; runtimes: string }): string {
  return JSON.stringify([o.hosts, o.topology, o.etcdTls, o.wan ?? '', !!o.noEtcd, !!o.etcdV2, o.runtimes]);
}

function stateOptionsLine(s: LabState): string {
  return optionsLine({
    hosts: s.hosts.length, topology: s.topology, etcdTls: s.etcdTls, wan: s.plan.wan?.text, noEtcd: s.plan.noEtcd, etcdV2: s.etcd?.v2,
    runtimes: formatRuntimes(s.plan.hosts.map((h) => h.name), s.plan.hosts.map((h) => h.runtime ?? 'docker')),
  });
}

export async function labUp(o: UpOptions): Promise<LabState> {
  requireRoot();
  validateName(o.name);
  validateHosts(o.hosts);
  if (o.topology !== 'l2' && o.topology !== 'routed') throw new InvalidInputError(`--topology must be l2 or routed, got "${o.topology}"`, 'lab');
  if (o.topology === 'routed' && o.hosts < 2) throw new InvalidInputError('--topology routed needs at least 2 hosts (the last one sits behind the router)', 'lab');
  if (o.noEtcd && (o.etcdTls || o.etcdV2)) throw new InvalidInputError(`--no-etcd cannot go with ${o.etcdTls ? '--etcd-tls' : '--etcd-v2'} (there is no lab etcd to configure)`, 'lab');
  if (o.runtimes && o.runtimes.length !== o.hosts) throw new Error(`internal: ${o.runtimes.length} runtimes for ${o.hosts} hosts`);
  const runtimes = o.runtimes ?? Array.from({ length: o.hosts }, () => 'docker' as const);
  const t0 = Date.now();
  const existing = readState(o.name);
  if (existing) {
    if (labHealthy(existing)) {
      progress(`lab "${o.name}" is already up (${existing.topology}, ${existing.hosts.length} hosts): nothing to do`);
      const asked = optionsLine({ ...o, wan: o.wan?.text, runtimes: formatRuntimes(hostNames(o.hosts), runtimes) });
      if (asked !== stateOptionsLine(existing)) {
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
    const plan = makePlan(o.name, index, o.topology, o.hosts, { wan: o.wan, noEtcd: o.noEtcd, runtimes });
    await assertNamesFree(plan);
    await probeKernel(`fpl-${o.name}-probe`);
    const s: LabState = {
      version: STATE_VERSION, name: o.name, index, topology: o.topology, etcdTls: o.etcdTls, status: 'starting',
      createdAt: new Date().toISOString(), rootfs: rootfs.rootfs, plan,
      ...(o.noEtcd ? {} : { etcd: { endpoint: etcdEndpoint(plan, o.etcdTls), dataDir: etcdDataDir(o.name), ...(o.etcdV2 ? { v2: true } : {}) } }),
      ...(o.wan ? { wan: {} } : {}),
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
    const underlay = (async () => {
      await createUnderlay(plan);
      if (!plan.wan || !state.wan) return;
      // the controller's way in: nothing from the root namespace reaches the lab until the forwarder runs
      const log = join(logDir(o.name), 'wan.log');
      mkdirSync(logDir(o.name), { recursive: true });
      state.wan.pid = await startWan(plan.wanNs, plan.wan, log);
      writeState(state);
      await waitWanReady(state.wan.pid, log);
      progress(`WAN between this namespace and the lab: ${describeWan(plan.wan)}`);
    })();
    const etcd = state.etcd;
    etcdJob = etcd && (async () => {
      const tls: TlsFiles | undefined = o.etcdTls ? await makeEtcdTls(o.name, plan.etcdIp) : undefined;
      await underlay; // etcd's namespace (and, with --wan, the way to it from here)
      etcd.pid = startEtcd(plan, { tls, v2: !!o.etcdV2 });
      writeState(state);
      await waitEtcd(etcd.pid, etcd.endpoint, tls);
      progress(`etcd healthy at ${etcd.endpoint}${o.etcdV2 ? ' (v2 API enabled)' : ''}`);
    })();
    etcdJob?.catch(() => undefined); // awaited below; never an unhandled rejection if preparing fails first
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

    ensureInotifyInstances(plan.hosts.length);
    progress(`booting ${plan.hosts.length} hosts (systemd-nspawn, overlay on ${rootfs.dir}; ${formatRuntimes(plan.hosts.map((h) => h.name), runtimes)})`);
    let ready = 0;
    // settle all: on a failure, let the other steps finish (or fail) before the cleanup tears things down
    await settleAll<unknown>([
      ...(etcdJob ? [etcdJob] : []),
      ...plan.hosts.map(async (h, i) => {
        const hs = state.hosts[i]!;
        const sup = bootHost(o.name, h, prepared[i]!.dirs, hostNicRebuild(plan, h), rootfs.probeTar);
        hs.supervisorPid = sup;
        writeState(state); // recorded before anything else can fail
        hs.initPid = await waitGuestInit(sup, hs.name);
        hs.nspawnPid = currentNspawn(sup);
        writeState(state);
        await waitSshPort(hs.ip, hs.name, sup);
        await readyAndImportProbe(o.name, hs.name, hs.ip, h.runtime ?? 'docker');
        ready++;
        progress(`${hs.name} ${hs.ip} ready (${ready}/${state.hosts.length}): systemd running, ${h.runtime ?? 'docker'} usable, ${PROBE_IMAGE} imported`);
      }),
    ]);
    writeInventory(plan, state.etcd?.endpoint, o.etcdTls ? tlsFiles(o.name) : undefined);
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

/** SIGTERM, then SIGKILL after 3 s: etcd, the WAN forwarder (by their recorded PIDs). */
async function stopProcess(pid: number | undefined): Promise<void> {
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
  await Promise.all([stopHosts(s.hosts, progress), stopProcess(s.etcd?.pid), stopProcess(s.wan?.pid)]);
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
  runtime: Runtime;
  running: boolean;
  /** the host's supervisor (stays across reboots) */
  supervisorPid?: number;
  /** live systemd-nspawn and guest init (new ones after every reboot) */
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
  /** absent with --no-etcd (the inventory's `etcd` group names the hosts that will run it) */
  etcd?: { endpoint: string; running: boolean; tls: boolean; v2: boolean };
  /** the hosts of the inventory's `etcd` group (--no-etcd) */
  etcdGroup?: string[];
  /** --wan: the setting and its forwarder */
  wan?: { spec: string; description: string; running: boolean; pid?: number };
  inventory?: string;
  knownHosts: string;
  sshKey: string;
  hosts: HostStatus[];
}

export function labStatus(s: LabState): LabStatus {
  const table = processTable();
  const hosts: HostStatus[] = s.hosts.map((h: HostState) => {
    const init = liveInit(h, table);
    const root = hostRootPid(h);
    const nspawn = h.supervisorPid ? (root ? currentNspawn(root, table) : undefined) : h.nspawnPid;
    return { name: h.name, ip: h.ip, ns: h.ns, runtime: s.plan.hosts.find((p) => p.name === h.name)?.runtime ?? 'docker', running: init !== undefined, supervisorPid: h.supervisorPid, nspawnPid: init ? nspawn : undefined, initPid: init };
  });
  const healthy = labHealthy(s);
  return {
    name: s.name,
    state: healthy ? 'up' : s.status === 'starting' ? 'starting' : 'degraded',
    index: s.index,
    topology: s.topology,
    underlay: s.plan.lanCidr,
    routedSubnet: s.topology === 'routed' ? s.plan.routedCidr : undefined,
    rootVeth: `${s.plan.rootVeth} ${s.plan.rootIp}`,
    ...(s.etcd ? { etcd: { endpoint: s.etcd.endpoint, running: pidAlive(s.etcd.pid), tls: s.etcdTls, v2: !!s.etcd.v2 } } : { etcdGroup: etcdGroupHosts(s.plan) }),
    ...(s.plan.wan ? { wan: { spec: s.plan.wan.text, description: describeWan(s.plan.wan), running: pidAlive(s.wan?.pid), pid: s.wan?.pid } } : {}),
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
