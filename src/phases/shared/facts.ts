/**
 * Host facts: one bash script per host (one SSH round trip) prints everything the later phases decide on,
 * in named sections (sections.ts), and `parseFacts` turns that into a typed `HostFacts`. Pure except for
 * nothing: the script is a string, the parser a function of the output, so both are unit-tested.
 */
import { readAgentStatus, type AgentStatus } from '../../network/agent-status.js';
import type { Ipv4Interface, IpRoute, RouteGet, IpLink } from '../../network/iproute2-json.js';
import { normaliseDst } from '../../network/iproute2-json.js';
import { parseSubnetEnv, type PreviousSubnetEnv } from '../../network/subnet-env.js';
import { RemotePaths } from '../../inventory/types.js';
import { splitSystemctlCat } from './docker-unit.js';
import { dockerSources, type DockerSources } from './docker-sources.js';
import { parseDockerNet } from './docker-state.js';
import { isOwnAgent, parseFlanneldProcs, type RunningFlanneld } from './foreign-agent.js';
import { SECTION_MARKER, jsonOr, parseSections, section, sectionsNamed, type Section } from '../../remote/sections.js';
import { remoteScript } from '../../remote/remote-script.js';

export interface EtcdEndpointAddr {
  /** as written in the inventory */
  url: string;
  host: string;
  port: number;
}

/** "http://198.18.1.10:2379" → host/port (default port 2379; https default the same, as etcd uses). */
export function parseEtcdEndpoint(url: string): EtcdEndpointAddr | undefined {
  const m = /^(?:(https?):\/\/)?(\[[^\]\s]+\]|[^:/\s]+)(?::(\d+))?\/?$/.exec(url.trim());
  if (!m) return undefined;
  return { url, host: m[2]!.replace(/^\[|\]$/g, ''), port: m[3] ? Number(m[3]) : 2379 };
}

/** Docker's daemon configuration file */
export const DAEMON_JSON = '/etc/docker/daemon.json';

export interface FactsScriptInput {
  /** full path of the agent binary on the host, e.g. /usr/local/bin/flanneld */
  agentPath: string;
  /** files flanprov manages on the host: their sha256 and content are read */
  files: readonly string[];
  /** peer addresses to look up with `ip route get` (L2 adjacency) */
  peers: readonly string[];
  etcd: readonly EtcdEndpointAddr[];
  /** agent health port on 127.0.0.1 */
  healthzPort: number;
  /** etcd reachability timeout, seconds */
  etcdTimeoutS?: number;
  /** a `flannel_runtime: cni` host: its CNI facts too (cni-facts.ts cniFactsInput) */
  cni?: CniFactsInput;
  /** verify's early probe, started first, printed after FACTS_END (verify.ts earlyProbeInput) */
  probe?: EarlyProbeInput;
}

/** What the facts script needs for a `cni` host's facts (parsed by cni-facts.ts parseCniFacts). */
export interface CniFactsInput {
  /** <flannel_cni_bin_dir>/flannel */
  link: string;
  /** bin directories searched for the plugins */
  dirs: readonly string[];
  plugins: readonly string[];
  confDir: string;
  bridge: string;
}

/** An early probe container (lib.sh fp_probe_docker/fp_probe_podman); `needs`: files that must exist first. */
export interface EarlyProbeInput {
  kind: 'docker' | 'podman';
  name: string;
  image: string;
  /** the CNI network (podman) */
  network: string;
  needs: readonly string[];
}

/** The line after the facts' last section; what follows is the early probe's output (and its `probe_rc`). */
export const FACTS_END = `${SECTION_MARKER} facts_end`;

declare module '../../remote/remote-script.js' {
  interface RemoteScripts {
    facts: {
      AGENT_PATH: string; AGENT_SHA_CACHE: string; HEALTHZ_PORT: number; ETCD_TIMEOUT: number; DAEMON_JSON: string;
      FILES: readonly string[]; PEERS: readonly string[]; ETCD: readonly string[];
      CNI_LINK: string; CNI_DIRS: readonly string[]; CNI_PLUGINS: readonly string[]; CNI_CONF_DIR: string; CNI_BRIDGE: string;
      PROBE_KIND: string; PROBE_NAME: string; PROBE_IMAGE: string; PROBE_NETWORK: string; PROBE_NEEDS: readonly string[];
    };
  }
}

/** The script (src/remote/scripts/facts.sh): read-only, every section in a background job of its own. */
export function buildFactsScript(inp: FactsScriptInput): string {
  return remoteScript('facts', {
    AGENT_PATH: inp.agentPath, AGENT_SHA_CACHE, HEALTHZ_PORT: inp.healthzPort, ETCD_TIMEOUT: inp.etcdTimeoutS ?? 2,
    DAEMON_JSON, FILES: inp.files, PEERS: inp.peers, ETCD: inp.etcd.map((e) => `${e.host}:${e.port}`),
    CNI_LINK: inp.cni?.link ?? '', CNI_DIRS: inp.cni?.dirs ?? [], CNI_PLUGINS: inp.cni?.plugins ?? [],
    CNI_CONF_DIR: inp.cni?.confDir ?? '', CNI_BRIDGE: inp.cni?.bridge ?? '',
    PROBE_KIND: inp.probe?.kind ?? '', PROBE_NAME: inp.probe?.name ?? '', PROBE_IMAGE: inp.probe?.image ?? '',
    PROBE_NETWORK: inp.probe?.network ?? '', PROBE_NEEDS: inp.probe?.needs ?? [],
  });
}

/** The `file` sections of a script's output, by path. */
export function parseFileSections(sections: readonly Section[]): Map<string, RemoteFile> {
  const files = new Map<string, RemoteFile>();
  for (const sec of sectionsNamed(sections, 'file')) {
    const m = /^([0-9a-f]{64}) ([0-7]{3,4})(?::(\S+))? ?(\S*)$/.exec(sec.body.trim());
    if (m) files.set(sec.arg, { sha256: m[1]!, mode: parseInt(m[2]!, 8), content: Buffer.from(m[4] ?? '', 'base64').toString('utf8'), ...(m[3] ? { owner: m[3] } : {}) });
  }
  return files;
}

/** Every file `up` may manage (read by the facts script so unchanged ones are not rewritten; removed by `down`). */
export const MANAGED_FILES = [
  RemotePaths.flanneldUnit, RemotePaths.dockerDropIn, RemotePaths.agentEnvFile, RemotePaths.etcdCa,
  RemotePaths.etcdCert, RemotePaths.etcdKey, RemotePaths.networkConfigCopy,
];

/** Where the facts script caches the installed agent's sha256 (with size, mtime and inode: lib.sh fp_cached_sha). */
export const AGENT_SHA_CACHE = '/var/lib/flanprov/agent.sha256';

export interface UnitState {
  loaded: boolean;
  active: string;
  mainPid: number;
  /** monotonic µs of the last activation; changes on every (re)start */
  activeSince: string;
  unitFileState?: string;
  restarts?: number;
}

export interface RemoteFile {
  sha256: string;
  /** permission bits, e.g. 0o644 */
  mode: number;
  content: string;
  /** the owning user, when the script asked for it (lib.sh fp_file_facts with OWNER=1) */
  owner?: string;
}

export interface HostFacts {
  host: string;
  os: { id: string; versionId: string; prettyName: string };
  kernelName: string;
  machine: string;
  kernelRelease: string;
  systemdPid1: boolean;
  systemdVersion?: number;
  /** dynamic loaders present (the agent is a glibc executable) */
  loaders: string[];
  tools: Set<string>;
  docker: {
    installed: boolean;
    unit?: UnitState;
    /** dockerd's command line without flanprov's drop-in (as written: variables not expanded) */
    execStart?: string;
    /** where each bridge setting comes from: unit, drop-ins, environment files, daemon.json (flanprov's drop-in excluded) */
    sources?: DockerSources;
    /** daemon.json parsed (undefined when absent); parseError when it is not JSON */
    daemonJson?: Record<string, unknown>;
    daemonJsonError?: string;
    /** the running dockerd's command line */
    cmdline?: string;
    /** the default bridge network as the running dockerd has it (docker network inspect), when it answered */
    running?: { mtu?: number; bip?: string };
    /** docker0's IPv4 address "a.b.c.d/len" and MTU, when the bridge exists */
    bridge?: { addr?: string; mtu: number };
  };
  interfaces: Ipv4Interface[];
  routes: IpRoute[];
  defaultRoute?: { dev: string; gateway?: string };
  vxlanLinks: IpLink[];
  routeGet: Map<string, RouteGet | { error: string }>;
  /** endpoint "host:port" → reachable */
  etcdReach: Map<string, boolean>;
  agent: {
    sha256?: string;
    unit?: UnitState;
    status?: AgentStatus;
    /** why there is no status (no answer, or not flanprov's agent) */
    statusError?: string;
    /** running flanneld processes that are not flanprov's agent (foreign-agent.ts) */
    foreign: RunningFlanneld[];
  };
  /** managed files (absent = not on the host) */
  files: Map<string, RemoteFile>;
  subnetEnvText?: string;
  subnetEnv?: PreviousSubnetEnv;
  forward: { policy?: string; flannelFwd: boolean };
}

function kv(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return m;
}

/** `systemctl show -p LoadState -p ActiveState ...` output; undefined when the unit is unknown. */
export function parseUnitState(text: string | undefined): UnitState | undefined {
  if (!text) return undefined;
  const m = kv(text);
  const load = m.get('LoadState');
  if (!load) return undefined;
  const st: UnitState = {
    loaded: load === 'loaded',
    active: m.get('ActiveState') ?? 'unknown',
    mainPid: Number(m.get('MainPID') ?? 0),
    activeSince: m.get('ActiveEnterTimestampMonotonic') ?? '0',
  };
  const ufs = m.get('UnitFileState');
  if (ufs !== undefined) st.unitFileState = ufs;
  const nr = m.get('NRestarts');
  if (nr !== undefined && /^\d+$/.test(nr)) st.restarts = Number(nr);
  return st;
}

function osRelease(text: string): HostFacts['os'] {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const r = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (r) m.set(r[1]!, r[2]!.replace(/^["']|["']$/g, ''));
  }
  return { id: m.get('ID') ?? '', versionId: m.get('VERSION_ID') ?? '', prettyName: m.get('PRETTY_NAME') ?? '' };
}

interface IpAddrJson {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu: number;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/**
 * Parses the facts script's output. `dropInPath` is flanprov's Docker drop-in (left out of ExecStart);
 * `peers` the addresses the script looked up (a batch lookup that failed is reported for each of them).
 */
export function parseFacts(host: string, stdout: string, dropInPath: string, peers: readonly string[] = [], agentPath = '/usr/local/bin/flanneld'): HostFacts {
  const s = parseSections(stdout);
  const body = (name: string) => section(s, name)?.body ?? '';
  // uname prints -s -r -m in that fixed order
  const [kernelName = '', kernelRelease = '', machine = ''] = body('uname').split(/\s+/);
  const sysv = /systemd (\d+)/.exec(body('systemd'));

  const addrs = jsonOr<IpAddrJson[]>(body('addr'), []);
  const interfaces: Ipv4Interface[] = addrs.map((a) => ({
    name: a.ifname,
    index: a.ifindex,
    mtu: a.mtu,
    up: (a.flags ?? []).includes('UP'),
    loopback: (a.flags ?? []).includes('LOOPBACK'),
    addrs: (a.addr_info ?? []).filter((i) => i.family === 'inet').map((i) => ({ ip: i.local, prefixLen: i.prefixlen })),
  }));
  const routes = jsonOr<IpRoute[]>(body('route'), []).map((r) => ({ ...r, dst: normaliseDst(r.dst), flags: r.flags ?? [] }));
  const defaults = routes.filter((r) => r.dst === '0.0.0.0/0' && r.dev).sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0));
  const def = defaults[0];

  const routeGet = parseRouteGets(s, peers);
  const etcdReach = new Map<string, boolean>();
  for (const sec of sectionsNamed(s, 'etcd')) etcdReach.set(sec.arg, sec.body.trim() === 'ok');

  const files = parseFileSections(s);

  const tools = new Set(body('tools').split('\n').map((x) => x.trim()).filter(Boolean));
  const dockerUnit = parseUnitState(body('docker_show'));
  const unitText = body('docker_unit');
  const djText = body('daemon_json');
  let daemonJson: Record<string, unknown> | undefined;
  let daemonJsonError: string | undefined;
  if (djText.trim()) {
    try {
      const v = JSON.parse(djText) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) daemonJson = v as Record<string, unknown>;
      else daemonJsonError = 'not a JSON object';
    } catch (e) {
      daemonJsonError = (e as Error).message;
    }
  }
  const sources = unitText
    ? dockerSources({
        fragments: splitSystemctlCat(unitText),
        exclude: [dropInPath],
        // base64 on the host: the exact bytes (line numbers and adoption's edits depend on them)
        environmentFiles: new Map(sectionsNamed(s, 'docker_envfile').map((e) => [e.arg, Buffer.from(e.body.trim(), 'base64').toString('utf8')])),
        ...(daemonJson ? { daemonJson: { path: DAEMON_JSON, text: djText, json: daemonJson } } : {}),
      })
    : undefined;
  const execStart = sources?.execStart?.command;
  const running = parseDockerNet(body('docker_net'));
  const d0 = interfaces.find((i) => i.name === 'docker0');
  const d0a = d0?.addrs[0];

  const agentStatus = readAgentStatus(body('agent_status'));
  const seText = section(s, 'subnet_env')?.body;
  const fwd = body('forward').split('\n');
  const pol = /^-P FORWARD (\S+)/.exec(fwd[0] ?? '');

  const facts: HostFacts = {
    host,
    os: osRelease(body('os')),
    kernelName,
    machine,
    kernelRelease,
    systemdPid1: body('pid1').trim() === 'systemd',
    loaders: body('ldso').split('\n').map((x) => x.trim()).filter(Boolean),
    tools,
    docker: {
      installed: !!dockerUnit?.loaded || tools.has('dockerd'),
      ...(dockerUnit?.loaded ? { unit: dockerUnit } : {}),
      ...(execStart ? { execStart } : {}),
      ...(sources ? { sources } : {}),
      ...(body('docker_cmdline').trim() ? { cmdline: body('docker_cmdline').trim() } : {}),
      ...(daemonJson ? { daemonJson } : {}),
      ...(daemonJsonError ? { daemonJsonError } : {}),
      ...(d0 ? { bridge: { mtu: d0.mtu, ...(d0a ? { addr: `${d0a.ip}/${d0a.prefixLen}` } : {}) } } : {}),
      ...(running ? { running } : {}),
    },
    interfaces,
    routes,
    ...(def?.dev ? { defaultRoute: { dev: def.dev, ...(def.gateway ? { gateway: def.gateway } : {}) } } : {}),
    vxlanLinks: jsonOr<IpLink[]>(body('vxlan'), []),
    routeGet,
    etcdReach,
    agent: { foreign: [] },
    files,
    forward: { flannelFwd: fwd.includes('FLANNEL-FWD'), ...(pol ? { policy: pol[1]! } : {}) },
  };
  if (sysv) facts.systemdVersion = Number(sysv[1]);
  const sha = body('agent_sha').trim();
  if (/^[0-9a-f]{64}$/.test(sha)) facts.agent.sha256 = sha;
  const au = parseUnitState(body('agent_show'));
  if (au?.loaded) facts.agent.unit = au;
  if (agentStatus.status) facts.agent.status = agentStatus.status;
  else if (au?.loaded) facts.agent.statusError = agentStatus.error;
  facts.agent.foreign = parseFlanneldProcs(body('flanneld_procs')).filter((p) => !isOwnAgent(p, agentPath, files.get(RemotePaths.flanneldUnit)?.content));
  if (seText !== undefined && seText.trim()) {
    facts.subnetEnvText = seText + '\n';
    facts.subnetEnv = parseSubnetEnv(seText);
  }
  return facts;
}

/**
 * The `routegets` section (lib.sh fp_routegets: one `ip -batch` answer per line, each naming its "dst"), by
 * peer; a peer without an answer gets the batch's error lines (or "no answer"). Empty without the section.
 */
export function parseRouteGets(s: readonly Section[], peers: readonly string[]): Map<string, RouteGet | { error: string }> {
  const routeGet = new Map<string, RouteGet | { error: string }>();
  const batch = section(s, 'routegets')?.body;
  if (batch === undefined) return routeGet;
  const errors: string[] = [];
  for (const line of batch.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const r = jsonOr<RouteGet[] | null>(line, null);
    if (r && r[0]?.dst) routeGet.set(r[0].dst, r[0]);
    else if (!line.startsWith('[')) errors.push(line);
  }
  for (const p of peers) if (!routeGet.has(p)) routeGet.set(p, { error: errors.join('; ') || 'no answer' });
  return routeGet;
}
