/**
 * The CNI protocol as the plugin speaks it (containernetworking/cni SPEC.md, 0.3.x/0.4.0 and 1.0.0):
 * the commands, the well-known error codes and the error document, the result document of each
 * version, and version comparison. Pure: the rest of agent/cni/ builds on these types.
 */
import { CNI_SPEC_VERSIONS, type CniSpecVersion } from '../../network/cni.js';

export { CNI_SPEC_VERSIONS, type CniSpecVersion };

export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

/** The spec's well-known error codes (1-99 are reserved for these); 100+ are the plugin's own. */
export const CniErrorCode = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENVIRONMENT: 4,
  IO_FAILURE: 5,
  DECODING_FAILURE: 6,
  INVALID_NETWORK_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  /** ours: subnet.env exists but lacks a key or has a malformed value */
  SUBNET_FILE_INVALID: 100,
  /** ours: the delegate plugin (or its IPAM) is not in CNI_PATH or the fallback directories */
  DELEGATE_NOT_FOUND: 101,
  /** ours: the delegate ran but did not answer in the protocol (crashed, killed, printed no JSON) */
  DELEGATE_FAILED: 102,
  /** ours (CHECK): the host's subnet is not the one the container was added on (the agent got a new lease) */
  SUBNET_CHANGED: 103,
  /** ours: a bug in the plugin (the message says where) */
  INTERNAL: 199,
} as const;

/** An error the plugin reports in the spec's error document (stdout, exit status 1). */
export class CniError extends Error {
  constructor(readonly code: number, readonly msg: string, readonly details?: string) {
    super(details ? `${msg}: ${details}` : msg);
    this.name = 'CniError';
  }
}

/** The error document: cniVersion (the config's, when known), code, msg, details (only when there are any). */
export interface CniErrorDocument {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

export function errorDocument(e: CniError, cniVersion: string): CniErrorDocument {
  return { cniVersion, code: e.code, msg: e.msg, ...(e.details ? { details: e.details } : {}) };
}

/** A well-formed error document from another plugin (a delegate's), or undefined. */
export function parseErrorDocument(v: unknown): CniErrorDocument | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.code !== 'number' || !Number.isInteger(o.code) || typeof o.msg !== 'string') return undefined;
  return {
    cniVersion: typeof o.cniVersion === 'string' ? o.cniVersion : '',
    code: o.code,
    msg: o.msg,
    ...(typeof o.details === 'string' && o.details ? { details: o.details } : {}),
  };
}

export function isSupportedVersion(v: string): v is CniSpecVersion {
  return (CNI_SPEC_VERSIONS as readonly string[]).includes(v);
}

/** Semantic versions compared numerically ("0.10.0" > "0.4.0"); undefined when either is not x.y.z. */
export function compareVersions(a: string, b: string): number | undefined {
  const p = (s: string) => (/^\d+\.\d+\.\d+$/.test(s) ? s.split('.').map(Number) : undefined);
  const x = p(a);
  const y = p(b);
  if (!x || !y) return undefined;
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** CHECK and prevResult on DEL came with 0.4.0. */
export function allowsCheck(v: string): boolean {
  return (compareVersions(v, '0.4.0') ?? -1) >= 0;
}

// ---------------------------------------------------------------------------------------------------
// results

export interface CniInterface {
  name: string;
  mac?: string;
  /** the netns path of an interface inside a container; absent for host interfaces */
  sandbox?: string;
}

export interface CniIpConfig {
  /** "4" | "6": required in 0.3.x/0.4.0, gone in 1.0.0 */
  version?: '4' | '6';
  /** CIDR, e.g. 10.244.3.5/24 */
  address: string;
  gateway?: string;
  /** index into interfaces */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

/** VERSION's answer. */
export interface CniVersionResult {
  cniVersion: string;
  supportedVersions: string[];
}
