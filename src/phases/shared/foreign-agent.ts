/**
 * A flanneld that flanprov did not install (issue 9): hand-started from a shell (`nohup flanneld-amd64
 * -etcd-prefix=... &`), or run by the user's own unit. The facts script lists every process whose argv
 * looks like flanneld's; this module parses those lines (argv from /proc/PID/cmdline, FLANNELD_* from
 * /proc/PID/environ, Go flag syntax) and tells ours from theirs. Pure: the command is a string, the
 * parser a function of its output.
 */
import { parseFlags, UsageError, type AgentFlags } from '../../network/flanneld-flags.js';
import { scriptSource } from '../../remote/script-sources.js';

/**
 * Candidates by one `grep` over every /proc/PID/cmdline (no process per PID). The bracketed first letters
 * keep grep from matching its own argv. Per match: pid, the systemd unit of its cgroup (a `.service`, else
 * empty: a login session's scope means "started from a shell"), the executable, argv and the FLANNELD_*
 * environment, both NUL-separated, in base64, and that unit's MainPID.
 */
export function flanneldProcsCommand(): string {
  // lib.sh fp_flanneld_procs (the facts script calls it too)
  return `${scriptSource('lib')}\nfp_flanneld_procs\n`;
}

export interface RunningFlanneld {
  pid: number;
  /** the systemd unit running it (e.g. "flanneld.service"); absent: started from a shell / login session */
  unit?: string;
  /** the executable (/proc/PID/exe, " (deleted)" removed), else argv[0] */
  path: string;
  argv: string[];
  /** FLANNELD_* from its environment (flag values the command line does not set) */
  env: Record<string, string>;
  /** its flags as flanneld reads them; parseError when they do not parse */
  flags?: AgentFlags;
  parseError?: string;
  /** flags our agent does not know (Go flanneld's), as written */
  unknownFlags: string[];
}

/** Programs whose argv may mention flanneld's flags without being flanneld (editors, shells, tools). */
const NOT_FLANNELD = new Set(['bash', 'sh', 'dash', 'zsh', 'grep', 'sed', 'awk', 'tail', 'less', 'more', 'cat', 'vi', 'vim', 'nano',
  'ssh', 'sshd', 'sudo', 'su', 'systemd-run', 'etcd', 'etcdctl', 'docker', 'dockerd', 'containerd', 'strace', 'gdb', 'journalctl',
  'watch', 'timeout', 'python3', 'python', 'node', 'perl', 'mk-docker-opts.sh']);

const FLANNEL_FLAG = /^--?(etcd-endpoints|etcd-prefix|subnet-file|iface|iface-regex|public-ip|ip-masq|kube-subnet-mgr)(=|$)/;

function base(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** One line of flanneldProcsCommand's output; undefined when the process is not a flanneld. */
export function parseProcLine(line: string): RunningFlanneld | undefined {
  const [pid = '', cgUnit = '', exe = '', a64 = '', e64 = '', mainPid = ''] = line.split('\t');
  // The cgroup's unit runs it when it is that unit's main process, or a flannel unit (ExecStart a wrapper
  // script). A process started from an SSH shell on a host without logind sits in ssh.service's cgroup:
  // that is "started from a shell", not a unit to disable.
  const unit = cgUnit && (mainPid === pid || mainPid === '' || /flannel/i.test(cgUnit)) ? cgUnit : '';
  if (!/^\d+$/.test(pid)) return undefined;
  const argv = Buffer.from(a64, 'base64').toString('utf8').split('\0');
  if (argv.at(-1) === '') argv.pop();
  if (!argv.length) return undefined;
  const path = exe.replace(/ \(deleted\)$/, '') || argv[0]!;
  const args = argv.slice(1);
  // Recognised by what it runs with: flannel's flags, or a flanneld executable with only flags (our own
  // agent's subcommands such as `serve-file`, and flannel's CNI plugin calls, are not the daemon).
  if (NOT_FLANNELD.has(base(path)) || NOT_FLANNELD.has(base(argv[0]!))) return undefined;
  if (args[0] !== undefined && !args[0].startsWith('-')) return undefined;
  if (!args.some((x) => FLANNEL_FLAG.test(x)) && !/flanneld/.test(base(path)) && !/flanneld/.test(base(argv[0]!))) return undefined;
  const env: Record<string, string> = {};
  for (const kv of Buffer.from(e64, 'base64').toString('utf8').split('\0')) {
    const i = kv.indexOf('=');
    if (kv.startsWith('FLANNELD_') && i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const r: RunningFlanneld = { pid: Number(pid), path, argv, env, unknownFlags: [], ...(unit ? { unit } : {}) };
  try {
    r.flags = parseFlags(args, env, r.unknownFlags);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    r.parseError = e.message;
  }
  return r;
}

export function parseFlanneldProcs(body: string): RunningFlanneld[] {
  return body.split('\n').map((l) => l.trim()).filter(Boolean).flatMap((l) => parseProcLine(l) ?? []);
}

/**
 * Whether a running flanneld is flanprov's own agent: run by flanneld.service from the inventory's agent
 * path, the unit file being the one flanprov writes (its first line says so).
 */
export function isOwnAgent(p: RunningFlanneld, agentPath: string, ownUnitText: string | undefined): boolean {
  return p.unit === 'flanneld.service' && p.path === agentPath && !!ownUnitText?.startsWith('# Written by flanprov');
}

/** "pid 412 /opt/flannel/flanneld (unit flanneld.service)" or "(started from a shell)". */
export function describeFlanneld(p: RunningFlanneld): string {
  return `pid ${p.pid} ${p.path} (${p.unit ? `unit ${p.unit}` : 'no unit: started from a shell'})`;
}

/** The settings an adoption compares with the inventory, from a foreign flanneld's flags. */
export interface ForeignSettings {
  etcdEndpoints: string[];
  etcdPrefix: string;
  iface: string[];
  ipMasq: boolean;
  publicIp?: string;
  tls: { ca?: string; cert?: string; key?: string };
}

export function foreignSettings(f: AgentFlags): ForeignSettings {
  const tls: ForeignSettings['tls'] = {};
  if (f.etcdCafile) tls.ca = f.etcdCafile;
  if (f.etcdCertfile) tls.cert = f.etcdCertfile;
  if (f.etcdKeyfile) tls.key = f.etcdKeyfile;
  return {
    etcdEndpoints: f.etcdEndpoints.split(',').map((x) => x.trim()).filter(Boolean),
    etcdPrefix: f.etcdPrefix,
    iface: f.iface,
    ipMasq: f.ipMasq,
    ...(f.publicIp ? { publicIp: f.publicIp } : {}),
    tls,
  };
}
