/**
 * Results across spec versions (libcni's convert): 0.3.0, 0.3.1 and 0.4.0 share one format whose ips carry
 * `version` ("4"/"6"); 1.0.0 dropped it. A delegate asked in the config's version normally answers in it;
 * when it does not, its result is converted, so the runtime always gets the version it asked for. Only the
 * spec's fields go out (interfaces, ips, routes, dns), in the spec's order.
 */
import { CniError, CniErrorCode, compareVersions, isSupportedVersion, type CniIpConfig, type CniResult, type CniSpecVersion } from './spec.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

function bad(why: string): CniError {
  return new CniError(CniErrorCode.DELEGATE_FAILED, 'the delegate returned an invalid result', why);
}

/** Parses a result document (an ADD's stdout, or a prevResult) of any supported version. */
export function parseResult(v: unknown): CniResult {
  if (!isObj(v)) throw bad('not a JSON object');
  const ver = v.cniVersion;
  if (typeof ver !== 'string' || !isSupportedVersion(ver)) throw bad(`cniVersion ${JSON.stringify(ver)} is not one this plugin can convert`);
  for (const k of ['interfaces', 'ips', 'routes'] as const) {
    if (v[k] !== undefined && !Array.isArray(v[k])) throw bad(`${k} is not a list`);
  }
  const ips = (v.ips as unknown[] | undefined)?.map((ip, i): CniIpConfig => {
    if (!isObj(ip) || typeof ip.address !== 'string') throw bad(`ips[${i}] has no address`);
    const out: CniIpConfig = { address: ip.address };
    if (ip.version === '4' || ip.version === '6') out.version = ip.version;
    if (typeof ip.gateway === 'string') out.gateway = ip.gateway;
    if (typeof ip.interface === 'number') out.interface = ip.interface;
    return out;
  });
  return {
    cniVersion: ver,
    ...(v.interfaces !== undefined ? { interfaces: v.interfaces as CniResult['interfaces'] } : {}),
    ...(ips ? { ips } : {}),
    ...(v.routes !== undefined ? { routes: v.routes as CniResult['routes'] } : {}),
    ...(isObj(v.dns) ? { dns: v.dns as CniResult['dns'] } : {}),
  };
}

/** The result in `to`'s format: `ips[].version` present below 1.0.0 (derived from the address), absent from 1.0.0. */
export function convertResult(r: CniResult, to: CniSpecVersion): CniResult {
  const withVersion = (compareVersions(to, '1.0.0') ?? 0) < 0;
  const ips = r.ips?.map((ip): CniIpConfig => {
    const { version, ...rest } = ip;
    if (!withVersion) return rest;
    return { version: version ?? (ip.address.includes(':') ? '6' : '4'), ...rest };
  });
  return {
    cniVersion: to,
    ...(r.interfaces ? { interfaces: r.interfaces } : {}),
    ...(ips ? { ips } : {}),
    ...(r.routes ? { routes: r.routes } : {}),
    ...(r.dns ? { dns: r.dns } : {}),
  };
}
