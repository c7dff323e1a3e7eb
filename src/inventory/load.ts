/**
 * Load an Ansible inventory (YAML or INI files, directories, several sources, group_vars/ and host_vars/)
 * into a ClusterSpec: read the sources (sources.ts) into Ansible's model (model.ts), merge each host's vars in
 * Ansible's order (merge.ts), template the settings flanprov reads (jinja.ts), validate them (schema.ts, plus
 * typo and secret checks), check that cluster-wide settings agree, resolve connection settings
 * (connection-vars.ts) and build the network config and agent flags. Every problem is reported at once,
 * as "file:line:col: key: message" pointing at where the offending value was written.
 */
import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname } from 'node:path';
import { expandPath } from './paths.js';
import { isDeepStrictEqual } from 'node:util';
import { InvalidInputError } from '../util/errors.js';
import { validateNetworkConfig } from '../network/config.js';
import { parseIpv4 } from '../network/ipv4.js';
import { DEFAULT_ETCD_PREFIX, splitEndpoints } from '../etcd/endpoints.js';
import { Inventory, type VarDef } from './model.js';
import { mergedHostVars } from './merge.js';
import { readSources } from './sources.js';
import { VarsFileReader } from './vars-files.js';
import { readYamlInventory } from './yaml-source.js';
import { readIniInventory } from './ini-source.js';
import { parseYamlFile, YamlSyntaxError, findUnsupported } from './yaml-values.js';
import { hostTemplater, TemplateError } from './jinja.js';
import { IssueList, suggest } from './errors.js';
import { CLUSTER_WIDE_VARS, KNOWN_FLANNEL_VARS, checkHostVars, coerceHostVars } from './schema.js';
import { connectionFor, effectiveVar, CONNECTION_VARS, SECRET_VARS } from './connection-vars.js';
import { AGENT_STATUS_PORT } from '../network/agent-status.js';
import { DEFAULT_AGENT_SERVE_PORT } from '../network/agent-serve.js';
import { BACKEND_TYPES, type BackendType } from '../network/backends.js';
import { agentFlags, agentEnv } from './agent-flags.js';
import { CNI_DEFAULT_BIN_DIR, CNI_DEFAULT_CONFLIST_VERSION, CNI_DEFAULT_NETWORK, type CniConflistVersion } from '../network/cni.js';
import { agentTlsFiles, controllerTlsFiles, finishManagedEtcd, managedEndpoints, readManagedEtcd, type ManagedEtcdDraft } from './managed-etcd.js';
import {
  formatPos, type ClusterNetworkSettings, type ClusterSpec, type EtcdSpec,
  type AgentSource, type FlannelRuntime, type HostFlannelSettings, type HostSpec, type IfaceSelector, type SourcePos, type TransferMode,
} from './types.js';

export interface LoadOptions {
  /** Ansible-style --limit: host or group names, globs (*), `!` to exclude; comma- or colon-separated */
  limit?: string;
  /** environment for lookup('env', ...) and the default secrets; default process.env */
  env?: NodeJS.ProcessEnv;
  /** default ~ for ~/.ssh paths */
  home?: string;
  /** default remote user when ansible_user is not set (the local user, as ssh does) */
  localUser?: string;
  /** default transfer mode for the agent binary (docs/transfer.md: measured on the lab) */
  defaultTransfer?: TransferMode;
  /** ssh_config file (`-F`); default ~/.ssh/config when it exists */
  sshConfigFile?: string;
  /** the system-wide ssh_config read after ~/.ssh/config without -F (default /etc/ssh/ssh_config; null: none; tests use a fixture) */
  systemSshConfig?: string | null;
}

export const DEFAULTS = {
  binDir: '/usr/local/bin',
  healthzPort: AGENT_STATUS_PORT,
  etcdPrefix: DEFAULT_ETCD_PREFIX,
  connectTimeoutMs: 10_000,
  /** the prebuilt compressed agent the host can decode (docs/transfer.md) */
  transfer: 'auto' as TransferMode,
  agentServePort: DEFAULT_AGENT_SERVE_PORT,
  /** group whose hosts run the agent; all hosts when the inventory has no such group */
  nodesGroup: 'nodes',
  etcdGroup: 'etcd',
};

/** Read and load inventory sources (`-i` may be given several times). Throws InvalidInputError / InventoryError (exit 2). */
export function loadInventory(sources: string | string[], opts: LoadOptions = {}): ClusterSpec {
  const list = Array.isArray(sources) ? sources : [sources];
  const inv = readSources(list);
  return buildCluster(inv, inv.sources[0]!, opts);
}

/** Load inventory text as if it were the file `file` (YAML, or INI when it is not a YAML mapping); no vars files. */
export function loadInventoryText(text: string, file: string, opts: LoadOptions = {}): ClusterSpec {
  const inv = new Inventory();
  inv.sources.push(file);
  const issues = new IssueList();
  let root;
  try {
    root = parseYamlFile(text, file);
  } catch (e) {
    if (!(e instanceof YamlSyntaxError)) throw e;
    if (!/\.ini$/.test(file) && !/^\s*\[[^\]]+\]\s*$/m.test(text)) { issues.add('', e.message, e.pos); issues.throwIfAny(); }
  }
  if (root && root.kind === 'map' && root.entries.length) readYamlInventory(root, inv, issues);
  else readIniInventory(text, file, inv, issues);
  issues.throwIfAny();
  inv.reconcile();
  return buildCluster(inv, file, opts);
}

/** The ansible_* variables flanprov reads (others are the playbooks' business and left alone). */
const READ_ANSIBLE_VARS = new Set([...CONNECTION_VARS, 'ansible_become', 'ansible_become_method', 'ansible_become_user',
  'ansible_become_password', 'ansible_become_pass', 'ansible_sudo_pass']);

const ENV_LOOKUP = /^\{\{\s*lookup\(\s*(['"])env\1\s*,\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\2\s*\)\s*\}\}$/;

function buildCluster(inv: Inventory, file: string, opts: LoadOptions): ClusterSpec {
  const env = opts.env ?? process.env;
  const home = opts.home ?? homedir();
  const baseDir = dirname(file);
  const issues = new IssueList();
  const reader = new VarsFileReader(issues);
  const hostOrder = [...inv.hosts.keys()];

  if (hostOrder.length === 0) {
    issues.add('hosts', 'the inventory lists no hosts', { file, line: 1, col: 1 });
    issues.throwIfAny();
  }
  const nodeNames = agentHostNames(inv);
  if (nodeNames.length === 0) issues.add(DEFAULTS.nodesGroup, 'the group "nodes" has no hosts', inv.groups.get(DEFAULTS.nodesGroup)?.pos);
  const selected = applyLimit(inv, nodeNames, opts.limit);

  /** merged vars of every host, the ones flanprov reads templated, problems collected */
  const resolved = new Map<string, Map<string, VarDef>>();
  for (const name of hostOrder) {
    const merged = mergedHostVars(inv, name, reader);
    const template = hostTemplater({ hostName: name, env, raw: (k) => merged.get(k) });
    const vars = new Map<string, VarDef>();
    for (const [key, def] of merged) {
      const ours = key.startsWith('flannel_') || READ_ANSIBLE_VARS.has(key);
      if (!ours) continue;
      if (key.startsWith('flannel_') && !KNOWN_FLANNEL_VARS.includes(key)) {
        const s = suggest(key, KNOWN_FLANNEL_VARS);
        issues.add(key, `unknown flannel setting${s ? ` (did you mean "${s}"?)` : ''}`, def.pos);
        continue;
      }
      if (def.value === null) continue; // Ansible skips a null connection setting; ours are optional
      if (SECRET_VARS.includes(key)) {
        const m = typeof def.value === 'string' ? ENV_LOOKUP.exec(def.value.trim()) : null;
        if (!m) {
          issues.add(key, `a literal password in the inventory is refused: write "{{ lookup('env', 'VAR') }}" and export VAR`, def.pos);
          continue;
        }
        const v = env[m[3]!];
        if (v === undefined) issues.add(key, `environment variable ${m[3]} is not set`, def.pos);
        vars.set(key, { ...def, value: v ?? '' });
        continue;
      }
      const u = findUnsupported(def.value);
      if (u) { issues.add(key, `${u.feature} is not supported here: write a plain value`, u.pos); continue; }
      try {
        const v = template(key);
        if (v !== undefined && v !== null) vars.set(key, { ...def, value: v });
      } catch (e) {
        if (e instanceof TemplateError) issues.add(key, e.message, e.pos ?? def.pos);
        else throw e;
      }
    }
    const plain: Record<string, unknown> = {};
    for (const [k, d] of vars) plain[k] = d.value;
    coerceHostVars(plain);
    for (const [k, v] of Object.entries(plain)) vars.set(k, { ...vars.get(k)!, value: v as VarDef['value'] });
    for (const si of checkHostVars(plain)) issues.add(si.key, si.message, vars.get(si.key)?.pos);
    resolved.set(name, vars);
  }
  issues.throwIfAny();

  // Cluster-wide settings must agree on every node.
  const ref = nodeNames[0]!;
  const refVars = resolved.get(ref)!;
  for (const key of CLUSTER_WIDE_VARS) {
    const a = refVars.get(key);
    const av = normalizeClusterValue(key, a?.value);
    for (const other of nodeNames.slice(1)) {
      const b = resolved.get(other)!.get(key);
      const bv = normalizeClusterValue(key, b?.value);
      if (isDeepStrictEqual(av, bv)) continue;
      const show = (v: unknown, d?: VarDef): string => (v === undefined ? 'unset' : SECRET_VARS.includes(key) ? 'a different value' : JSON.stringify(v)) + (d ? ` (${formatPos(d.pos)})` : '');
      issues.add(key, `cluster-wide setting differs between hosts: ${other} has ${show(bv, b)}, ${ref} has ${show(av, a)}; every node must use the same value`, (b ?? a)?.pos);
    }
  }
  issues.throwIfAny();

  // Cluster settings from the reference node.
  const cv = (k: string): VarDef | undefined => refVars.get(k);
  const val = <T>(k: string): T | undefined => cv(k)?.value as T | undefined;
  const networkDef = cv('flannel_network');
  if (!networkDef) issues.add('flannel_network', 'is required (the flannel network, e.g. 10.244.0.0/16); set it in all.vars', inv.groups.get('all')?.pos ?? { file, line: 1, col: 1 });
  issues.throwIfAny();
  const network: ClusterNetworkSettings = {
    network: String(networkDef!.value),
    backend: (val<string>('flannel_backend') ?? BACKEND_TYPES[0]) as BackendType,
  };
  const numKeys: [keyof ClusterNetworkSettings, string][] = [['subnetLen', 'flannel_subnet_len'], ['vni', 'flannel_vni'], ['port', 'flannel_port'], ['mtu', 'flannel_mtu']];
  for (const [f, k] of numKeys) if (val<number>(k) !== undefined) (network as unknown as Record<string, unknown>)[f] = val<number>(k);
  if (val<string>('flannel_subnet_min') !== undefined) network.subnetMin = val<string>('flannel_subnet_min');
  if (val<string>('flannel_subnet_max') !== undefined) network.subnetMax = val<string>('flannel_subnet_max');
  if (val<boolean>('flannel_direct_routing') !== undefined) network.directRouting = val<boolean>('flannel_direct_routing');
  if (network.backend !== 'vxlan') {
    for (const k of ['flannel_vni', 'flannel_port', 'flannel_mtu', 'flannel_direct_routing']) {
      if (cv(k)) issues.add(k, `applies to the vxlan backend only (flannel_backend is ${network.backend})`, cv(k)!.pos);
    }
  }
  const networkConfig = buildNetworkConfig(network);
  const check = validateNetworkConfig(networkConfig);
  if (!check.ok) issues.add('flannel_network', `invalid network config ${JSON.stringify(networkConfig)}: ${check.error}`, networkDef!.pos);

  // etcd
  const endpointsDef = cv('flannel_etcd_endpoints');
  let endpoints: string[];
  let managed: ManagedEtcdDraft | undefined;
  if (endpointsDef) {
    endpoints = splitEndpoints(endpointsDef.value as string | string[]);
    for (const e of endpoints) if (!/^https?:\/\/(?:[^/\s:[\]]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?\/?$/.test(e)) issues.add('flannel_etcd_endpoints', `"${e}" is not an etcd URL (http://host:2379 or https://host:2379)`, endpointsDef.pos);
  } else if (inv.groups.has(DEFAULTS.etcdGroup)) {
    // An `etcd` group without endpoints: flanprov runs the etcd cluster on its hosts (managed-etcd.ts).
    managed = readManagedEtcd({
      memberNames: inv.groupHosts(DEFAULTS.etcdGroup), resolved, refVars, inventoryFile: file, issues,
      expand: (p) => expandPath(p, home, baseDir), groupPos: inv.groups.get(DEFAULTS.etcdGroup)?.pos,
    }, baseDir);
    endpoints = managedEndpoints(managed);
  } else {
    endpoints = [];
    issues.add('flannel_etcd_endpoints', 'is required (e.g. [http://10.0.0.10:2379]) unless the inventory has an "etcd" group for flanprov to run etcd on', inv.groups.get('all')?.pos ?? { file, line: 1, col: 1 });
  }
  const etcd: EtcdSpec = { endpoints, prefix: val<string>('flannel_etcd_prefix') ?? DEFAULTS.etcdPrefix };
  const controllerTls = managed && controllerTlsFiles(managed);
  if (controllerTls) etcd.controllerTls = controllerTls;
  if (val<string>('flannel_etcd_username')) {
    etcd.username = val<string>('flannel_etcd_username');
    const pw = val<string>('flannel_etcd_password') ?? env.FLANPROV_ETCD_PASSWORD;
    if (pw === undefined) issues.add('flannel_etcd_username', `needs a password: set flannel_etcd_password: "{{ lookup('env', 'VAR') }}" or export FLANPROV_ETCD_PASSWORD`, cv('flannel_etcd_username')!.pos);
    else etcd.password = pw;
  }

  // Hosts: the agent hosts, then etcd members that are not among them (they need connection settings too)
  const hosts: HostSpec[] = [];
  const memberOnly: HostSpec[] = [];
  for (const name of [...selected, ...(managed?.members.map((m) => m.name).filter((m) => !selected.includes(m)) ?? [])]) {
    const vars = resolved.get(name)!;
    const v = <T>(k: string): T | undefined => vars.get(k)?.value as T | undefined;
    const pos = (k: string): SourcePos => vars.get(k)?.pos ?? inv.hosts.get(name)!.pos;
    const conn = connectionFor(name, vars, {
      env, home, baseDir, localUser: opts.localUser ?? safeUser(),
      ...(opts.sshConfigFile ? { sshConfigFile: opts.sshConfigFile } : {}),
      ...(opts.systemSshConfig !== undefined ? { systemSshConfig: opts.systemSshConfig } : {}),
    }, issues);
    const iface: IfaceSelector[] = [];
    if (v('flannel_iface') !== undefined) {
      const list = Array.isArray(v('flannel_iface')) ? v<string[]>('flannel_iface')! : [v<string>('flannel_iface')!];
      for (const s of list) {
        const r = parseIfaceSelector(s);
        if (typeof r === 'string') issues.add('flannel_iface', r, pos('flannel_iface'));
        else iface.push(r);
      }
    }
    const fileVar = (k: string): string | undefined => {
      const p = v<string>(k);
      if (p === undefined) return undefined;
      const abs = expandPath(p, home, baseDir);
      if (!existsSync(abs)) issues.add(k, `file not found: ${abs}`, pos(k));
      return abs;
    };
    const tc = v<boolean | string>('flannel_transfer_compression');
    const flannel: HostFlannelSettings = {
      iface,
      ipMasq: v<boolean>('flannel_ip_masq') ?? true,
      docker: v<'auto' | boolean>('flannel_docker') ?? 'auto',
      binDir: (v<string>('flannel_bin_dir') ?? DEFAULTS.binDir).replace(/\/+$/, '') || '/',
      runtime: v<FlannelRuntime>('flannel_runtime') ?? 'docker',
      cni: {
        binDir: (v<string>('flannel_cni_bin_dir') ?? CNI_DEFAULT_BIN_DIR).replace(/\/+$/, '') || '/',
        network: v<string>('flannel_cni_network') ?? CNI_DEFAULT_NETWORK,
        version: v<CniConflistVersion>('flannel_cni_version') ?? CNI_DEFAULT_CONFLIST_VERSION,
      },
      healthzPort: v<number>('flannel_healthz_port') ?? DEFAULTS.healthzPort,
      transfer: tc === undefined ? opts.defaultTransfer ?? DEFAULTS.transfer : tc === true ? 'auto' : tc === false || tc === 'none' ? 'plain' : tc as TransferMode,
      agentSource: agentSourceOf(v, pos, issues),
    };
    if (v('flannel_public_ip') !== undefined) flannel.publicIp = v<string>('flannel_public_ip');
    if (flannel.runtime === 'cni' && flannel.docker === true) {
      issues.add('flannel_docker', 'is true on a host with flannel_runtime: cni, which gets a CNI network and no Docker drop-in; remove one of them', pos('flannel_docker'));
    }
    const ca = fileVar('flannel_etcd_cafile'); if (ca) flannel.etcdCaFile = ca;
    const cert = fileVar('flannel_etcd_certfile'); if (cert) flannel.etcdCertFile = cert;
    const key = fileVar('flannel_etcd_keyfile'); if (key) flannel.etcdKeyFile = key;
    if (!!cert !== !!key) issues.add(cert ? 'flannel_etcd_certfile' : 'flannel_etcd_keyfile', 'flannel_etcd_certfile and flannel_etcd_keyfile go together', pos(cert ? 'flannel_etcd_certfile' : 'flannel_etcd_keyfile'));
    if (managed) Object.assign(flannel, agentTlsFiles(managed, name));
    const varPos: Record<string, SourcePos> = {};
    for (const [k, d] of vars) varPos[k] = d.pos;
    const spec: HostSpec = {
      name,
      groups: inv.hostGroups(name).map((g) => g.name).sort(),
      connection: conn,
      flannel,
      agentFlags: [],
      agentEnv: {},
      varPos,
    };
    spec.agentFlags = agentFlags(spec, etcd);
    spec.agentEnv = agentEnv(etcd);
    (selected.includes(name) ? hosts : memberOnly).push(spec);
  }
  if (managed) {
    const specs = [...hosts, ...memberOnly];
    etcd.managed = finishManagedEtcd(managed, (n) => specs.find((h) => h.name === n)!, (n) => resolved.get(n)!, (p) => expandPath(p, home, baseDir), issues, env);
  }
  issues.throwIfAny();
  return { inventoryFile: file, inventorySources: [...inv.sources], hosts, allHostNames: hostOrder, network, networkConfig, etcd };
}

/** flannel_agent_source and its settings; url without flannel_agent_url is an issue at the source's position. */
function agentSourceOf(v: <T>(k: string) => T | undefined, pos: (k: string) => SourcePos, issues: IssueList): AgentSource {
  const kind = v<AgentSource['kind']>('flannel_agent_source') ?? 'auto';
  const src: AgentSource = { kind, servePort: v<number>('flannel_agent_serve_port') ?? DEFAULTS.agentServePort, peerCompression: v<boolean>('flannel_agent_peer_compression') ?? false };
  const url = v<string>('flannel_agent_url');
  const proxy = v<string>('flannel_agent_proxy');
  if (url !== undefined) src.url = url;
  if (proxy !== undefined) src.proxy = proxy;
  if (kind === 'url' && url === undefined) issues.add('flannel_agent_source', 'is url but flannel_agent_url is not set (the mirror URL of dist/flanneld, .xz or .gz)', pos('flannel_agent_source'));
  return src;
}

/** flannel's network config JSON (only fields the inventory sets; flannel fills in its own defaults). */
export function buildNetworkConfig(n: ClusterNetworkSettings): Record<string, unknown> {
  const cfg: Record<string, unknown> = { Network: n.network };
  if (n.subnetLen !== undefined) cfg.SubnetLen = n.subnetLen;
  if (n.subnetMin !== undefined) cfg.SubnetMin = n.subnetMin;
  if (n.subnetMax !== undefined) cfg.SubnetMax = n.subnetMax;
  const backend: Record<string, unknown> = { Type: n.backend };
  if (n.backend === 'vxlan') {
    if (n.vni !== undefined) backend.VNI = n.vni;
    if (n.port !== undefined) backend.Port = n.port;
    if (n.mtu !== undefined) backend.MTU = n.mtu;
    if (n.directRouting !== undefined) backend.DirectRouting = n.directRouting;
  }
  cfg.Backend = backend;
  return cfg;
}

/**
 * flannel_iface entries: `/regex/` → -iface-regex; a dotted-quad IPv4 address → -iface (by address);
 * anything else must be a Linux interface name (1-15 chars, no '/', ':' or whitespace) → -iface.
 * Returns the selector or an error message.
 */
export function parseIfaceSelector(s: string): IfaceSelector | string {
  const t = s.trim();
  if (t.length >= 2 && t.startsWith('/') && t.endsWith('/')) {
    const re = t.slice(1, -1);
    try { new RegExp(re); } catch (e) { return `"${t}" is not a valid regular expression: ${(e as Error).message}`; }
    return { kind: 'regex', value: re };
  }
  if (parseIpv4(t) !== undefined) return { kind: 'ip', value: t };
  if (/^\d+(\.\d+)*$/.test(t)) return `"${t}" is not a valid IPv4 address`;
  if (/^[^/\s:]{1,15}$/.test(t) && t !== '.' && t !== '..') return { kind: 'name', value: t };
  return `"${t}" is not an interface name (1-15 characters), an IPv4 address, or a regex written as /…/`;
}

function normalizeClusterValue(key: string, v: unknown): unknown {
  if (v === undefined || v === null) return undefined;
  if (key === 'flannel_etcd_endpoints') return splitEndpoints(v as string | string[]);
  return v;
}

function safeUser(): string {
  try { return userInfo().username; } catch { return 'root'; }
}


/** Ansible-like --limit: "a,b", "group", "node*", "!node3", "nodes:!node3". Only agent hosts are selected. */
export function applyLimit(inv: Inventory, nodes: string[], limit: string | undefined): string[] {
  if (!limit) return nodes;
  const pats = limit.split(/[,:]/).map((s) => s.trim()).filter(Boolean);
  const glob = (p: string): RegExp => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  const match = (p: string): Set<string> => {
    const re = glob(p);
    const out = new Set<string>();
    for (const h of inv.hosts.keys()) if (re.test(h)) out.add(h);
    for (const g of inv.groups.keys()) if (re.test(g)) for (const h of inv.groupHosts(g)) out.add(h);
    if (!out.size) throw new InvalidInputError(`--limit: "${p}" matches no host or group of the inventory`);
    return out;
  };
  const include = pats.filter((p) => !p.startsWith('!') && !p.startsWith('&'));
  let sel = new Set<string>(include.length ? include.flatMap((p) => [...match(p)]) : nodes);
  for (const p of pats.filter((x) => x.startsWith('&'))) { const m = match(p.slice(1)); sel = new Set([...sel].filter((h) => m.has(h))); }
  for (const p of pats.filter((x) => x.startsWith('!'))) for (const h of match(p.slice(1))) sel.delete(h);
  const out = nodes.filter((h) => sel.has(h));
  if (!out.length) throw new InvalidInputError(`--limit "${limit}" selects none of the hosts that run the agent (${nodes.join(', ')})`);
  return out;
}

/** Hosts that run the agent: the `nodes` group (with its children), or every host when there is none. */
export function agentHostNames(inv: Inventory): string[] {
  return inv.groups.has(DEFAULTS.nodesGroup) ? inv.groupHosts(DEFAULTS.nodesGroup) : [...inv.hosts.keys()];
}
