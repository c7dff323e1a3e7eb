/**
 * The JSON schema of the per-host variables flanprov reads (schema.ts checks inventories with it): data
 * only, so the build can compile it ahead of time (host-vars-validator.ts).
 */
import { BACKEND_TYPES } from '../network/backends.js';
import { CNI_CONFLIST_VERSIONS, CNI_NETWORK_NAME_RE } from '../network/cni.js';

/** ajv's options for the schema, the same at build time and under tsx */
export const AJV_OPTIONS = { allErrors: true, strict: true, allowUnionTypes: true } as const;

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
    flannel_agent_source: { enum: ['auto', 'push', 'url', 'peers'] },
    flannel_agent_url: { type: 'string', pattern: '^https?://[^/?#\\s]+[^\\s]*$' },
    flannel_agent_proxy: { type: 'string', pattern: '^https?://[^/?#\\s]+/?$' },
    flannel_agent_serve_port: port,
    flannel_agent_peer_compression: { type: 'boolean' },
  },
} as const;

