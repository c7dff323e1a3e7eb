/**
 * Test bed for the agent integration tests: a switch netns with a bridge (the L2 segment) and etcd,
 * N host netns attached to it, "containers" (netns behind a bridge on the host's flannel subnet),
 * agents started directly in the host netns from a fresh esbuild bundle. Every name starts with
 * `fpt<id>`; `cleanup()` kills what it started (by PID) and deletes every namespace it created.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { build } from 'esbuild';
import { AGENT_STATUS_PORT, parseAgentStatus, type AgentStatus } from '../../src/network/agent-status.js';

export const ROOT = join(__dirname, '..', '..');
export const ETCD_IP = '172.30.0.254';
export const ETCD_URL = `http://${ETCD_IP}:2379`;

export function sh(argv: string[], input?: string): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}
export function shOk(argv: string[]): boolean {
  try {
    sh(argv);
    return true;
  } catch {
    return false;
  }
}
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, stepMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** Bundle the agent once per test file (no tsx per agent: 20 agents must fit in memory and start fast). */
export async function bundleAgent(outfile: string): Promise<string> {
  const { agentBuildOptions } = await import(join(ROOT, 'scripts/agent-build-options.mjs'));
  await build({
    entryPoints: [join(ROOT, 'src/agent/main.ts')], outfile, bundle: true, platform: 'node', target: 'node20',
    format: 'cjs', logLevel: 'warning', ...agentBuildOptions,
  });
  return outfile;
}

export interface AgentProc {
  host: Host;
  proc: ChildProcess;
  pid: number;
  log: () => string;
  exited: Promise<number | null>;
}

export interface Host {
  n: number;
  ns: string;
  ip: string;
  dir: string;
  subnetFile: string;
}

export class Testbed {
  readonly id = `fpt${randomBytes(2).toString('hex')}`;
  readonly dir = `/tmp/${this.id}`;
  readonly sw = `${this.id}sw`;
  readonly prefix = `/${this.id}/network`;
  readonly hosts: Host[] = [];
  readonly namespaces: string[] = [];
  private readonly pids = new Set<number>();
  etcd: ChildProcess | undefined;
  agentJs = '';
  /** run this executable (e.g. the single executable dist/flanneld) instead of node + agentJs */
  agentBin = '';

  async setup(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.addNs(this.sw);
    sh(['ip', '-n', this.sw, 'link', 'add', 'br0', 'type', 'bridge']);
    sh(['ip', '-n', this.sw, 'addr', 'add', `${ETCD_IP}/24`, 'dev', 'br0']);
    sh(['ip', '-n', this.sw, 'link', 'set', 'br0', 'up']);
    this.agentJs = await bundleAgent(join(this.dir, 'flanneld.cjs'));
  }

  private addNs(name: string): void {
    sh(['ip', 'netns', 'add', name]);
    this.namespaces.push(name);
    sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  }

  addHost(): Host {
    const n = this.hosts.length + 1;
    const ns = `${this.id}h${n}`;
    const ip = `172.30.0.${n}`;
    this.addNs(ns);
    sh(['ip', 'link', 'add', `${this.id}v${n}`, 'netns', this.sw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    sh(['ip', '-n', this.sw, 'link', 'set', `${this.id}v${n}`, 'master', 'br0', 'up']);
    sh(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    sh(['ip', '-n', ns, 'route', 'add', 'default', 'via', ETCD_IP]);
    sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    const dir = join(this.dir, `h${n}`);
    mkdirSync(dir, { recursive: true });
    const h: Host = { n, ns, ip, dir, subnetFile: join(dir, 'subnet.env') };
    this.hosts.push(h);
    return h;
  }

  startEtcd(): void {
    const data = join(this.dir, 'etcd');
    const p = spawn('ip', ['netns', 'exec', this.sw, 'etcd', '--name', this.id, '--data-dir', data,
      '--listen-client-urls', ETCD_URL, '--advertise-client-urls', ETCD_URL,
      '--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
      '--initial-cluster', `${this.id}=http://127.0.0.1:2380`, '--log-level', 'error'], { stdio: 'ignore' });
    this.etcd = p;
    this.pids.add(p.pid!);
  }

  async waitEtcd(): Promise<void> {
    await waitFor('etcd', () => shOk(this.etcdctlArgv(['endpoint', 'health'])), 20_000, 200);
  }

  async stopEtcd(): Promise<void> {
    const p = this.etcd;
    if (!p?.pid) return;
    const gone = new Promise((r) => p.once('exit', r));
    process.kill(p.pid, 'SIGTERM');
    await gone;
    this.pids.delete(p.pid);
    this.etcd = undefined;
  }

  etcdctlArgv(args: string[]): string[] {
    return ['ip', 'netns', 'exec', this.sw, 'etcdctl', `--endpoints=${ETCD_URL}`, '--command-timeout=5s', ...args];
  }
  etcdctl(args: string[], input?: string): string {
    return sh(this.etcdctlArgv(args), input);
  }
  putConfig(json: string): void {
    this.etcdctl(['put', `${this.prefix}/config`, json]);
  }
  /** subnet key -> raw value */
  leases(): Map<string, string> {
    const out = JSON.parse(this.etcdctl(['get', '--prefix', `${this.prefix}/subnets/`, '-w', 'json'])) as { kvs?: { key: string; value: string }[] };
    return new Map((out.kvs ?? []).map((kv) => [Buffer.from(kv.key, 'base64').toString().split('/').pop()!, Buffer.from(kv.value, 'base64').toString()]));
  }

  startAgent(h: Host, extra: string[] = [], env: NodeJS.ProcessEnv = {}): AgentProc {
    const exe = this.agentBin ? [this.agentBin] : [process.execPath, this.agentJs];
    const proc = spawn('ip', ['netns', 'exec', h.ns, ...exe,
      `-etcd-endpoints=${ETCD_URL}`, `-etcd-prefix=${this.prefix}`, `-subnet-file=${h.subnetFile}`, '-reconcile-interval=2', ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let buf = '';
    proc.stderr!.on('data', (b: Buffer) => (buf += b.toString()));
    this.pids.add(proc.pid!);
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => {
      this.pids.delete(proc.pid!);
      r(code);
    }));
    return { host: h, proc, pid: proc.pid!, log: () => buf, exited };
  }

  async waitReady(a: AgentProc, timeoutMs = 20_000): Promise<string> {
    await waitFor(`agent ${a.host.ns} ready`, () => a.log().includes('flannel is ready') || a.proc.exitCode !== null, timeoutMs);
    if (a.proc.exitCode !== null) throw new Error(`agent ${a.host.ns} exited ${a.proc.exitCode}:\n${a.log()}`);
    return subnetOf(a.host);
  }

  async kill(a: AgentProc, sig: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (a.proc.exitCode === null && a.proc.signalCode === null) process.kill(a.pid, sig);
    return a.exited;
  }

  /** A "container": netns behind bridge cbr0 on the host's flannel subnet; returns its IP. */
  addContainer(h: Host): string {
    const env = readFileSync(h.subnetFile, 'utf8');
    const m = /FLANNEL_SUBNET=(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)/.exec(env)!;
    const mtu = /FLANNEL_MTU=(\d+)/.exec(env)![1]!;
    const gw = `${m[1]}.${m[2]}.${m[3]}.${m[4]}`;
    const ip = `${m[1]}.${m[2]}.${m[3]}.${Number(m[4]) + 1}`;
    const cns = `${this.id}c${h.n}`;
    if (!shOk(['ip', '-n', h.ns, 'link', 'show', 'cbr0'])) {
      sh(['ip', '-n', h.ns, 'link', 'add', 'cbr0', 'type', 'bridge']);
      sh(['ip', '-n', h.ns, 'addr', 'add', `${gw}/${m[5]}`, 'dev', 'cbr0']);
      sh(['ip', '-n', h.ns, 'link', 'set', 'cbr0', 'mtu', mtu, 'up']);
    }
    this.addNs(cns);
    sh(['ip', 'link', 'add', `${this.id}p${h.n}`, 'netns', h.ns, 'mtu', mtu, 'type', 'veth', 'peer', 'name', 'ceth0', 'netns', cns, 'mtu', mtu]);
    sh(['ip', '-n', h.ns, 'link', 'set', `${this.id}p${h.n}`, 'master', 'cbr0', 'up']);
    sh(['ip', '-n', cns, 'addr', 'add', `${ip}/${m[5]}`, 'dev', 'ceth0']);
    sh(['ip', '-n', cns, 'link', 'set', 'ceth0', 'up']);
    sh(['ip', '-n', cns, 'route', 'add', 'default', 'via', gw]);
    return ip;
  }

  /**
   * The host's filter table as Docker leaves it (policy FORWARD DROP; established traffic to the bridge,
   * anything from it accepted); flanneld's FLANNEL-FWD is what lets other hosts' pods in. Installed before
   * the agent starts so the agent's jump lands after Docker's rules, as on a lab host. Docker's own
   * MASQUERADE (dockerd without --ip-masq=false) is separate: `dockerMasquerade`.
   */
  dockerLikeFilter(h: Host): void {
    const ipt = (...a: string[]) => sh(['ip', 'netns', 'exec', h.ns, 'iptables', '-w', ...a]);
    ipt('-P', 'FORWARD', 'DROP');
    ipt('-A', 'FORWARD', '-o', 'cbr0', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');
    ipt('-A', 'FORWARD', '-i', 'cbr0', '!', '-o', 'cbr0', '-j', 'ACCEPT');
    ipt('-A', 'FORWARD', '-i', 'cbr0', '-o', 'cbr0', '-j', 'ACCEPT');
  }

  /**
   * dockerd's default masquerade (`-s <bip subnet> ! -o docker0 -j MASQUERADE`, inserted first in nat
   * POSTROUTING, ahead of flanneld's FLANNEL-POSTRTG): pod-to-pod traffic leaves NATed to the egress
   * device's address. `on=false` removes it.
   */
  dockerMasquerade(h: Host, on: boolean): void {
    sh(['ip', 'netns', 'exec', h.ns, 'iptables', '-w', '-t', 'nat', on ? '-I' : '-D', 'POSTROUTING', '-s', subnetOf(h), '!', '-o', 'cbr0', '-j', 'MASQUERADE']);
  }

  containerNs(h: Host): string {
    return `${this.id}c${h.n}`;
  }

  ping(fromNs: string, ip: string, count = 2): boolean {
    return shOk(['ip', 'netns', 'exec', fromNs, 'ping', '-c', String(count), '-i', '0.2', '-W', '1', '-q', ip]);
  }

  /** Start a long ping in the background; resolves to [sent, received]. */
  pingLong(fromNs: string, ip: string, count: number, intervalS = 0.1): Promise<[number, number]> {
    return new Promise((resolve) => {
      const p = spawn('ip', ['netns', 'exec', fromNs, 'ping', '-c', String(count), '-i', String(intervalS), '-W', '1', '-q', ip], { stdio: ['ignore', 'pipe', 'ignore'] });
      this.pids.add(p.pid!);
      let out = '';
      p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      p.once('exit', () => {
        this.pids.delete(p.pid!);
        const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
        resolve(m ? [Number(m[1]), Number(m[2])] : [count, 0]);
      });
    });
  }

  routes(h: Host): string {
    return sh(['ip', '-n', h.ns, 'route', 'show']);
  }

  async cleanup(): Promise<void> {
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch { /* already gone */ }
    }
    await sleep(200);
    for (const ns of [...this.namespaces].reverse()) shOk(['ip', 'netns', 'del', ns]);
    if (existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}

export function subnetOf(h: Host): string {
  const m = /FLANNEL_SUBNET=(\d+\.\d+\.\d+)\.\d+\/(\d+)/.exec(readFileSync(h.subnetFile, 'utf8'));
  if (!m) throw new Error(`no FLANNEL_SUBNET in ${h.subnetFile}`);
  return `${m[1]}.0/${m[2]}`;
}

/** The agent's GET /status in `h` (started with -healthz-ip=127.0.0.1 -healthz-port=8471); undefined when it does not answer. */
export function agentStatus(h: Host): AgentStatus | undefined {
  try {
    return parseAgentStatus(sh(['ip', 'netns', 'exec', h.ns, 'curl', '-s', '-m', '2', `http://127.0.0.1:${AGENT_STATUS_PORT}/status`]));
  } catch {
    return undefined;
  }
}

/** The HTTP code of the agent's /readyz in `h` ('error' when it does not answer). */
export function agentReadyz(h: Host): string {
  try {
    return sh(['ip', 'netns', 'exec', h.ns, 'curl', '-s', '-m', '2', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${AGENT_STATUS_PORT}/readyz`]);
  } catch {
    return 'error';
  }
}
