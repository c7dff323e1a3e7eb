/**
 * The network configuration on stdin: the spec's fields (cniVersion, name, type, runtimeConfig,
 * prevResult) plus flannel's (subnetFile, dataDir, delegate), decoded and checked. Unparsable JSON is
 * error 6, an unsupported version error 1, a bad field error 7, a field flannel sets itself (delegate.name,
 * delegate.ipam) error 2 naming the key and its value — the spec's codes for each.
 */
import { CNI_STATE_DIR, CNI_NETWORK_NAME_RE } from '../../network/cni.js';
import { DEFAULT_SUBNET_FILE } from '../../network/subnet-env.js';
import { CNI_SPEC_VERSIONS, CniError, CniErrorCode, isSupportedVersion, type CniSpecVersion } from './spec.js';

export interface FlannelNetConf {
  cniVersion: CniSpecVersion;
  name: string;
  type: string;
  subnetFile: string;
  dataDir: string;
  /** delegate options from the config (type, bridge, hairpinMode, …); flannel fills in the rest */
  delegate: Record<string, unknown>;
  runtimeConfig?: Record<string, unknown>;
  prevResult?: Record<string, unknown>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** The JSON object on stdin (error 6 when it is not one). */
export function decodeStdin(text: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CniError(CniErrorCode.DECODING_FAILURE, 'error decoding network config from stdin', text.trim() === '' ? 'stdin is empty' : (e as Error).message);
  }
  if (!isObj(v)) throw new CniError(CniErrorCode.DECODING_FAILURE, 'error decoding network config from stdin', 'not a JSON object');
  return v;
}

/** The config's cniVersion (a missing one is "0.1.0", as libcni reads it), error 1 unless supported. */
export function configVersion(o: Obj): CniSpecVersion {
  const v = o.cniVersion;
  if (v !== undefined && typeof v !== 'string') throw new CniError(CniErrorCode.DECODING_FAILURE, 'error decoding network config: cniVersion is not a string', JSON.stringify(v));
  const ver = v || '0.1.0';
  if (!isSupportedVersion(ver)) {
    throw new CniError(CniErrorCode.INCOMPATIBLE_VERSION, 'incompatible CNI versions', `config is ${JSON.stringify(ver)}${v ? '' : ' (no cniVersion given)'}, plugin supports ${JSON.stringify(CNI_SPEC_VERSIONS)}`);
  }
  return ver;
}

function optString(o: Obj, key: string, dflt: string): string {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string' || v === '') throw new CniError(CniErrorCode.INVALID_NETWORK_CONFIG, `invalid network config: ${key} must be a non-empty string`, `got ${JSON.stringify(v)}`);
  return v;
}

function optObject(o: Obj, key: string): Obj | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new CniError(CniErrorCode.INVALID_NETWORK_CONFIG, `invalid network config: ${key} must be an object`, `got ${JSON.stringify(v)}`);
  return v;
}

export function parseNetConf(text: string): FlannelNetConf {
  const o = decodeStdin(text);
  const cniVersion = configVersion(o);
  const name = o.name;
  if (typeof name !== 'string' || !CNI_NETWORK_NAME_RE.test(name)) {
    throw new CniError(CniErrorCode.INVALID_NETWORK_CONFIG, 'invalid network config: name must start with a letter or digit, then letters, digits, _ . -', `got ${JSON.stringify(name)}`);
  }
  const type = optString(o, 'type', '');
  const subnetFile = optString(o, 'subnetFile', DEFAULT_SUBNET_FILE);
  const dataDir = optString(o, 'dataDir', CNI_STATE_DIR);
  const delegate = { ...(optObject(o, 'delegate') ?? {}) };
  if ('type' in delegate && (typeof delegate.type !== 'string' || delegate.type === '')) {
    throw new CniError(CniErrorCode.INVALID_NETWORK_CONFIG, "invalid network config: 'delegate' dictionary, if present, must have (string) 'type' field", `got ${JSON.stringify(delegate.type)}`);
  }
  for (const k of ['name', 'ipam', 'cniVersion']) {
    if (k in delegate) throw new CniError(CniErrorCode.UNSUPPORTED_FIELD, `unsupported field delegate.${k}: flannel sets it`, `delegate.${k} = ${JSON.stringify(delegate[k])}`);
  }
  const runtimeConfig = optObject(o, 'runtimeConfig');
  const prevResult = optObject(o, 'prevResult');
  return {
    cniVersion, name, type, subnetFile, dataDir, delegate,
    ...(runtimeConfig ? { runtimeConfig } : {}),
    ...(prevResult ? { prevResult } : {}),
  };
}
