/**
 * JSON schema (ajv) of the merged per-host variables flanprov reads. Other variables (the user's own,
 * Ansible's others) are left alone, except `flannel_*` names that are not ours: those are typos.
 */
import { BACKEND_TYPES } from '../network/backends.js';
import { CNI_CONFLIST_VERSIONS, CNI_NETWORK_NAME_RE } from '../network/cni.js';
import Ajv, { type ErrorObject } from 'ajv';
import { isPyFloat, PyFloat, pyNumberStr } from './py-float.js';

const ipv4 = '^(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}$';
const cidr4 = ipv4.slice(0, -1) + '/(3[0-2]|[12]?\\d)$';
const str = { type: 'string', minLength: 1 } as const;
const absPath = { type: 'string', pattern: '^/' } as const;
const port = { type: 'integer', minimum: 1, maximum: 65535 } as const;
const strOrList = { anyOf: [str, { type: 'array', items: str, minItems: 1 }] } as const;

/** Per-host variable schema. Descriptions double as documentation (docs in README/inventories). */
export const hostVarsSchema = {
  type: 'object',
  properties: {
    ansible_host: str,
    ansible_ssh_host: str,
    ansible_port: port,
    ansible_ssh_port: port,
    ansible_user: str,
    ansible_ssh_user: str,
    ansible_ssh_private_key_file: str,
    ansible_private_key_file: str,
    ansible_ssh_common_args: { type: 'string' },
    ansible_ssh_extra_args: { type: 'string' },
    ansible_connection: { enum: ['ssh', 'smart', 'paramiko', 'local'] },
    ansible_password: { type: 'string' },
    ansible_ssh_pass: { type: 'string' },
    ansible_ssh_password: { type: 'string' },
    ansible_ssh_timeout: { type: 'integer', minimum: 1 },
    ansible_timeout: { type: 'integer', minimum: 1 },
    ansible_host_key_checking: { type: 'boolean' },
    ansible_ssh_host_key_checking: { type: 'boolean' },
    ansible_become: { type: 'boolean' },
    ansible_become_method: { enum: ['sudo'] },
    ansible_become_user: str,
    ansible_become_password: { type: 'string' },
    ansible_become_pass: { type: 'string' },
    ansible_sudo_pass: { type: 'string' },
    flannel_network: { type: 'string', pattern: cidr4 },
    flannel_subnet_len: { type: 'integer', minimum: 1, maximum: 32 },
    flannel_subnet_min: { type: 'string', pattern: ipv4 },
    flannel_subnet_max: { type: 'string', pattern: ipv4 },
    flannel_backend: { enum: [...BACKEND_TYPES] },
    flannel_vni: { type: 'integer', minimum: 0, maximum: 16777215 },
    flannel_port: { type: 'integer', minimum: 0, maximum: 65535 },
    flannel_mtu: { type: 'integer', minimum: 0, maximum: 65535 },
    flannel_direct_routing: { type: 'boolean' },
    flannel_etcd_endpoints: strOrList,
    flannel_etcd_prefix: { type: 'string', pattern: '^/.*[^/]$|^/$' },
    flannel_etcd_cafile: str,
    flannel_etcd_certfile: str,
    flannel_etcd_keyfile: str,
    flannel_etcd_username: str,
    flannel_etcd_password: { type: 'string' },
    flannel_etcd_tls: { type: 'boolean' },
    flannel_etcd_pki_dir: str,
    flannel_etcd_address: { type: 'string', pattern: ipv4 },
    flannel_etcd_install: { enum: ['auto', 'package', 'push'] },
    flannel_etcd_binary: str,
    flannel_iface: strOrList,
    flannel_public_ip: { type: 'string', pattern: ipv4 },
    flannel_ip_masq: { type: 'boolean' },
    flannel_docker: { anyOf: [{ type: 'boolean' }, { const: 'auto' }] },
    flannel_bin_dir: absPath,
    flannel_runtime: { enum: ['docker', 'cni'] },
    flannel_cni_bin_dir: absPath,
    flannel_cni_network: { type: 'string', pattern: CNI_NETWORK_NAME_RE.source },
    flannel_cni_version: { enum: [...CNI_CONFLIST_VERSIONS] },
    flannel_healthz_port: port,
    flannel_transfer_compression: { anyOf: [{ type: 'boolean' }, { enum: ['auto', 'xz', 'gzip', 'none', 'sftp'] }] },
    flannel_agent_source: { enum: ['push', 'url', 'peers'] },
    flannel_agent_url: { type: 'string', pattern: '^https?://[^/?#\\s]+[^\\s]*$' },
    flannel_agent_proxy: { type: 'string', pattern: '^https?://[^/?#\\s]+/?$' },
    flannel_agent_serve_port: port,
  },
} as const;

export const KNOWN_FLANNEL_VARS = Object.keys(hostVarsSchema.properties).filter((k) => k.startsWith('flannel_'));

/** Variables that must have the same value on every node (they end up in etcd or in every agent). */
export const CLUSTER_WIDE_VARS = [
  'flannel_network', 'flannel_subnet_len', 'flannel_subnet_min', 'flannel_subnet_max', 'flannel_backend',
  'flannel_vni', 'flannel_port', 'flannel_mtu', 'flannel_direct_routing',
  'flannel_etcd_endpoints', 'flannel_etcd_prefix', 'flannel_etcd_username', 'flannel_etcd_password', 'flannel_etcd_tls', 'flannel_etcd_pki_dir',
] as const;

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(hostVarsSchema);

export interface SchemaIssue { key: string; message: string }

type PropSchema = { type?: string; anyOf?: readonly PropSchema[] };
const allows = (p: PropSchema | undefined, type: string): boolean => !!p && (p.type === type || !!p.anyOf?.some((x) => allows(x, type)));

/** Ansible's boolean(): the spellings its connection and become settings accept (INI values are strings). */
const TRUE_WORDS = ['y', 'yes', 'on', '1', 'true', 't'];
const FALSE_WORDS = ['n', 'no', 'off', '0', 'false', 'f'];

/**
 * Convert values the way Ansible's consumers do before using them: a boolean setting takes "yes"/"true"/"1"
 * (an INI `ansible_become=true` is the string "true"), an integer setting takes "22". In place.
 */
export function coerceHostVars(vars: Record<string, unknown>): void {
  const props = hostVarsSchema.properties as Record<string, PropSchema>;
  for (const [k, v] of Object.entries(vars)) {
    const p = props[k];
    if (typeof v === 'string' && allows(p, 'boolean')) {
      const w = v.trim().toLowerCase();
      if (TRUE_WORDS.includes(w)) vars[k] = true;
      else if (FALSE_WORDS.includes(w)) vars[k] = false;
    } else if (typeof v === 'string' && allows(p, 'integer') && /^\s*[-+]?\d+\s*$/.test(v)) {
      vars[k] = Number(v);
    }
  }
}

/** Validate one host's merged vars; returns issues keyed by top-level variable name. */
export function checkHostVars(vars: Record<string, unknown>): SchemaIssue[] {
  if (validate(vars)) return [];
  const errs = validate.errors ?? [];
  const byKey = new Map<string, ErrorObject[]>();
  for (const e of errs) {
    const key = e.instancePath.split('/')[1];
    if (!key) continue;
    byKey.set(key, [...(byKey.get(key) ?? []), e]);
  }
  return [...byKey].map(([key, list]) => ({ key, message: describe(key, vars[key], list) }));
}

const EXPECT: Record<string, string> = {
  flannel_network: 'an IPv4 network in CIDR form, e.g. 10.244.0.0/16',
  flannel_subnet_min: 'an IPv4 address, e.g. 10.244.1.0',
  flannel_subnet_max: 'an IPv4 address, e.g. 10.244.254.0',
  flannel_public_ip: 'an IPv4 address',
  flannel_etcd_address: 'an IPv4 address (the etcd member listens on it)',
  flannel_etcd_prefix: 'an absolute etcd key prefix without a trailing slash, e.g. /coreos.com/network',
  flannel_bin_dir: 'an absolute directory, e.g. /usr/local/bin',
  flannel_docker: 'auto, true or false',
  flannel_runtime: 'docker or cni',
  flannel_cni_bin_dir: 'an absolute directory, e.g. /opt/cni/bin',
  flannel_cni_network: 'a CNI network name: a letter or digit, then letters, digits, _ . -',
  flannel_cni_version: `one of ${CNI_CONFLIST_VERSIONS.join(', ')}`,
  flannel_transfer_compression: 'auto, xz, gzip, none or sftp (or true/false)',
  flannel_agent_source: 'push, url or peers',
  flannel_agent_url: 'an http:// or https:// URL of the agent (dist/flanneld, .xz or .gz on a mirror)',
  flannel_agent_proxy: 'an HTTP proxy URL, e.g. http://proxy.example:3128',
  flannel_etcd_endpoints: 'a URL or a list of URLs (a comma-separated string works too)',
  flannel_iface: 'an interface name, an IPv4 address, /regex/, or a list of those',
};

function describe(key: string, value: unknown, errs: ErrorObject[]): string {
  const got = isPyFloat(value) ? `got the float ${pyNumberStr(value)}`
    : `got ${JSON.stringify(value)}${typeof value === 'string' ? '' : ` (${value === null ? 'null' : Array.isArray(value) ? 'list' : typeof value})`}`;
  if (EXPECT[key]) return `must be ${EXPECT[key]}; ${got}`;
  const e = errs.find((x) => x.keyword !== 'anyOf') ?? errs[0]!;
  // Ansible keeps 24.0 a float and hands it on as 24.0, which flannel's JSON decoder and ssh refuse
  if (isPyFloat(value) && e.keyword === 'type' && e.params.type === 'integer') {
    const n = value instanceof PyFloat ? value.value : value;
    return `must be an integer; ${got} (Ansible keeps it a float, and flannel and ssh refuse one)${Number.isInteger(n) ? `: write ${n}` : ''}`;
  }
  switch (e.keyword) {
    case 'type': return `must be ${e.params.type === 'integer' ? 'an integer' : e.params.type === 'boolean' ? 'a boolean (true/false, yes/no)' : `a ${String(e.params.type)}`}; ${got}`;
    case 'enum': return `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}; ${got}`;
    case 'minimum': case 'maximum': return `must be ${e.keyword === 'minimum' ? '>=' : '<='} ${String(e.params.limit)}; ${got}`;
    case 'minLength': return 'must not be empty';
    default: return `${e.message ?? 'is invalid'}; ${got}`;
  }
}
