/**
 * JSON schema (ajv) of the merged per-host variables flanprov reads. Other variables (the user's own,
 * Ansible's others) are left alone, except `flannel_*` names that are not ours: those are typos.
 */
import type { ErrorObject } from 'ajv';
import { CNI_CONFLIST_VERSIONS } from '../network/cni.js';
import { hostVarsSchema } from './host-vars-schema.js';
import { validateHostVars as validate } from './host-vars-validator.js';
import { isPyFloat, PyFloat, pyNumberStr } from './py-float.js';

export { hostVarsSchema };

export const KNOWN_FLANNEL_VARS = Object.keys(hostVarsSchema.properties).filter((k) => k.startsWith('flannel_'));

/** Variables that must have the same value on every node (they end up in etcd or in every agent). */
export const CLUSTER_WIDE_VARS = [
  'flannel_network', 'flannel_subnet_len', 'flannel_subnet_min', 'flannel_subnet_max', 'flannel_backend',
  'flannel_vni', 'flannel_port', 'flannel_mtu', 'flannel_direct_routing',
  'flannel_etcd_endpoints', 'flannel_etcd_prefix', 'flannel_etcd_username', 'flannel_etcd_password', 'flannel_etcd_tls', 'flannel_etcd_pki_dir',
] as const;


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
  flannel_agent_source: 'auto, push, url or peers',
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
