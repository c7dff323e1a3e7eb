/**
 * flanneld's command line, parsed like Go's `flag` package (what flannel uses): `-x=v`, `--x=v`,
 * `-x v` (non-booleans only), booleans as `-x` / `-x=false`, `--` ends the flags. Every flag can
 * also come from `FLANNELD_<NAME>` (upper case, `-` -> `_`); the command line wins and an empty
 * variable is ignored (coreos/pkg flagutil.SetFlagsFromEnv). Errors use Go's wording and name the flag.
 */

export interface AgentFlags {
  etcdEndpoints: string;
  etcdPrefix: string;
  etcdCafile: string;
  etcdCertfile: string;
  etcdKeyfile: string;
  etcdUsername: string;
  etcdPassword: string;
  iface: string[];
  ifaceRegex: string[];
  publicIp: string;
  subnetFile: string;
  subnetLeaseRenewMargin: number;
  ipMasq: boolean;
  ipMasqFullyRandomDisable: boolean;
  iptablesForwardRules: boolean;
  iptablesResync: number;
  healthzIp: string;
  healthzPort: number;
  reconcileInterval: number;
  /** -backend-switch-timeout, in ms: how long a live backend switch keeps the old datapath for peers that have not moved */
  backendSwitchTimeout: number;
  v: number;
  version: boolean;
  help: boolean;
}

type Kind = 'string' | 'strings' | 'int' | 'bool' | 'duration';
interface FlagDef { name: string; key: keyof AgentFlags; kind: Kind; dflt: string | number | boolean | string[]; usage: string; secret?: boolean }

export const FLAG_DEFS: readonly FlagDef[] = [
  { name: 'etcd-endpoints', key: 'etcdEndpoints', kind: 'string', dflt: 'http://127.0.0.1:4001,http://127.0.0.1:2379', usage: 'a comma-delimited list of etcd endpoints' },
  { name: 'etcd-prefix', key: 'etcdPrefix', kind: 'string', dflt: '/coreos.com/network', usage: 'etcd prefix' },
  { name: 'etcd-keyfile', key: 'etcdKeyfile', kind: 'string', dflt: '', usage: 'SSL key file used to secure etcd communication' },
  { name: 'etcd-certfile', key: 'etcdCertfile', kind: 'string', dflt: '', usage: 'SSL certification file used to secure etcd communication' },
  { name: 'etcd-cafile', key: 'etcdCafile', kind: 'string', dflt: '', usage: 'SSL Certificate Authority file used to secure etcd communication' },
  { name: 'etcd-username', key: 'etcdUsername', kind: 'string', dflt: '', usage: 'username for BasicAuth to etcd' },
  { name: 'etcd-password', key: 'etcdPassword', kind: 'string', dflt: '', usage: 'password for BasicAuth to etcd', secret: true },
  { name: 'iface', key: 'iface', kind: 'strings', dflt: [], usage: 'interface to use (IP or name) for inter-host communication. Can be specified multiple times to check each option in order. Returns the first match found.' },
  { name: 'iface-regex', key: 'ifaceRegex', kind: 'strings', dflt: [], usage: 'regex expression to match the first interface to use (IP or name) for inter-host communication. Can be specified multiple times to check each regex in order. Returns the first match found. Regexes are checked after specific interfaces specified by the iface option have already been checked.' },
  { name: 'public-ip', key: 'publicIp', kind: 'string', dflt: '', usage: 'IP accessible by other nodes for inter-host communication (NAT: without -iface the default-route interface is used)' },
  { name: 'subnet-file', key: 'subnetFile', kind: 'string', dflt: '/run/flannel/subnet.env', usage: 'filename where env variables (subnet, MTU, ... ) will be written to' },
  { name: 'subnet-lease-renew-margin', key: 'subnetLeaseRenewMargin', kind: 'int', dflt: 60, usage: 'subnet lease renewal margin, in minutes, ranging from 1 to 1439' },
  { name: 'ip-masq', key: 'ipMasq', kind: 'bool', dflt: false, usage: 'setup IP masquerade rule for traffic destined outside of overlay network' },
  { name: 'ip-masq-fully-random-disable', key: 'ipMasqFullyRandomDisable', kind: 'bool', dflt: false, usage: 'do not use --random-fully on the MASQUERADE rule' },
  { name: 'iptables-forward-rules', key: 'iptablesForwardRules', kind: 'bool', dflt: true, usage: 'add default accept rules to FORWARD chain in iptables' },
  { name: 'iptables-resync', key: 'iptablesResync', kind: 'int', dflt: 5, usage: 'resync period for iptables rules, in seconds' },
  { name: 'healthz-ip', key: 'healthzIp', kind: 'string', dflt: '0.0.0.0', usage: 'the IP address for healthz server to listen' },
  { name: 'healthz-port', key: 'healthzPort', kind: 'int', dflt: 0, usage: 'the port for healthz server to listen(0 to disable)' },
  { name: 'reconcile-interval', key: 'reconcileInterval', kind: 'int', dflt: 10, usage: 'seconds between full reconciles of peer routes with the kernel (flanprov extension)' },
  { name: 'backend-switch-timeout', key: 'backendSwitchTimeout', kind: 'duration', dflt: 60_000, usage: 'live backend switch: how long the old backend\'s datapath is kept for peers that have not moved yet, e.g. 60s or 2m (flanprov extension)' },
  { name: 'v', key: 'v', kind: 'int', dflt: 0, usage: 'number for the log level verbosity' },
  { name: 'version', key: 'version', kind: 'bool', dflt: false, usage: 'print version and exit' },
  { name: 'help', key: 'help', kind: 'bool', dflt: false, usage: 'print this help and exit' },
];

/** A usage error: the message names the flag (Go's wording); flanneld exits 2. */
export class UsageError extends Error {}

/** Go's strconv.ParseBool. */
function parseBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** Go's strconv.ParseInt(s, 0, 64) for the values flags take (decimal, 0x, 0o, 0b, leading 0 = octal). */
function parseGoInt(s: string): number | undefined {
  const t = s.replace(/_/g, '');
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9]\d*|0)$/.exec(t);
  if (!m) return undefined;
  let body = m[2]!;
  if (/^0[0-7]+$/.test(body)) body = `0o${body.slice(1)}`;
  const n = Number(body.toLowerCase().startsWith('0o') ? parseInt(body.slice(2), 8) : Number(body));
  if (!Number.isSafeInteger(n)) return undefined;
  return m[1] === '-' ? -n : n;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration ("60s", "1m30s", "1.5h", "500ms"; "0" alone needs no unit), in ms. */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  if (!/^(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))*$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return Math.round(total);
}

export function defaultFlags(): AgentFlags {
  const f: Record<string, unknown> = {};
  for (const d of FLAG_DEFS) f[d.key] = Array.isArray(d.dflt) ? [...d.dflt] : d.dflt;
  return f as unknown as AgentFlags;
}

function setValue(f: AgentFlags, d: FlagDef, raw: string, origin: string): void {
  const rec = f as unknown as Record<string, unknown>;
  switch (d.kind) {
    case 'string': rec[d.key] = raw; return;
    case 'strings': (rec[d.key] as string[]).push(raw); return;
    case 'bool': {
      const b = parseBool(raw);
      if (b === undefined) throw new UsageError(`invalid boolean value "${raw}" for ${origin}: parse error`);
      rec[d.key] = b;
      return;
    }
    case 'int': {
      const n = parseGoInt(raw);
      if (n === undefined) throw new UsageError(`invalid value "${raw}" for ${origin}: parse error`);
      rec[d.key] = n;
      return;
    }
    case 'duration': {
      const ms = parseGoDuration(raw);
      if (ms === undefined) throw new UsageError(`invalid value "${raw}" for ${origin}: parse error (a duration like 60s, 1m30s or 500ms)`);
      rec[d.key] = ms;
    }
  }
}

/**
 * Go flanneld's boolean flags that our agent does not define: reading a foreign flanneld's argv
 * (`unknown` given) they take no separate value, every other unknown flag takes the next word as Go does.
 */
const GO_ONLY_BOOLS = new Set(['kube-subnet-mgr', 'set-node-network-unavailable', 'auto-detect-ipv4', 'auto-detect-ipv6', 'ipv6-masq', 'etcd-insecure', 'iface-can-reach-any']);

/**
 * Parse argv (without node/script) and env. Throws UsageError. With `unknown` (reading another flanneld's
 * command line, which may be Go flanneld's with flags ours lacks) an undefined flag is recorded there
 * instead of refused.
 */
export function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv = {}, unknown?: string[]): AgentFlags {
  const f = defaultFlags();
  const byName = new Map(FLAG_DEFS.map((d) => [d.name, d]));
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      if (i + 1 < argv.length) throw new UsageError(`unexpected argument: ${argv[i + 1]}`);
      break;
    }
    if (!a.startsWith('-') || a === '-') throw new UsageError(`unexpected argument: ${a}`);
    const body = a.startsWith('--') ? a.slice(2) : a.slice(1);
    if (body === '' || body.startsWith('-') || body.startsWith('=')) throw new UsageError(`bad flag syntax: ${a}`);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const d = byName.get(name === 'h' ? 'help' : name);
    if (!d) {
      if (!unknown) throw new UsageError(`flag provided but not defined: -${name}`);
      unknown.push(a);
      if (eq < 0 && !GO_ONLY_BOOLS.has(name) && i + 1 < argv.length) unknown.push(argv[++i]!);
      continue;
    }
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (d.kind === 'bool') value = 'true';
    else {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${name}`);
      value = argv[++i]!;
    }
    setValue(f, d, value, `flag -${d.name}`);
    seen.add(d.name);
  }
  for (const d of FLAG_DEFS) {
    if (seen.has(d.name) || d.name === 'help') continue;
    const envName = `FLANNELD_${d.name.toUpperCase().replace(/[-.]/g, '_')}`;
    const v = env[envName];
    if (v === undefined || v === '') continue;
    setValue(f, d, v, `${envName} (flag -${d.name})`);
  }
  if (f.subnetLeaseRenewMargin < 1 || f.subnetLeaseRenewMargin > 1439) {
    throw new UsageError('Invalid subnet-lease-renew-margin option, out of acceptable range');
  }
  if (f.healthzPort < 0 || f.healthzPort > 65535) throw new UsageError(`invalid value "${f.healthzPort}" for flag -healthz-port: out of range`);
  if (f.iptablesResync < 1) throw new UsageError(`invalid value "${f.iptablesResync}" for flag -iptables-resync: must be at least 1`);
  if (f.reconcileInterval < 1) throw new UsageError(`invalid value "${f.reconcileInterval}" for flag -reconcile-interval: must be at least 1`);
  for (const r of f.ifaceRegex) {
    try {
      new RegExp(r);
    } catch (e) {
      throw new UsageError(`invalid value "${r}" for flag -iface-regex: ${(e as Error).message}`);
    }
  }
  return f;
}

export function usageText(): string {
  const lines = ['Usage: flanneld [flags]', ''];
  for (const d of FLAG_DEFS) {
    const shown = d.kind === 'duration' ? fmtMs(d.dflt as number) : typeof d.dflt === 'string' ? `"${d.dflt}"` : String(d.dflt);
    const dv = Array.isArray(d.dflt) ? '' : d.kind === 'string' && d.dflt === '' ? '' : ` (default ${shown})`;
    lines.push(`  -${d.name}${d.kind === 'bool' ? '' : d.kind === 'int' ? ' int' : d.kind === 'duration' ? ' duration' : ' string'}`, `    \t${d.usage}${dv}`);
  }
  lines.push('', 'Every flag may also be set as FLANNELD_<NAME> (e.g. FLANNELD_ETCD_ENDPOINTS); the command line wins.');
  return `${lines.join('\n')}\n`;
}

function fmtMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** The flags for a log line, with the password masked (flannel printed it in clear). */
export function describeFlags(f: AgentFlags): string {
  return FLAG_DEFS.filter((d) => d.name !== 'help').map((d) => {
    const v = (f as unknown as Record<string, unknown>)[d.key];
    const shown = d.secret ? (v ? '<redacted>' : '') : Array.isArray(v) ? `[${v.join(' ')}]` : d.kind === 'duration' ? fmtMs(v as number) : String(v);
    return `${d.name}:${shown}`;
  }).join(' ');
}
