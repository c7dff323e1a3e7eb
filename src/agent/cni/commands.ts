/**
 * The plugin's four commands, as flannel's plugin does them:
 *   ADD     read subnet.env, build the delegate's config, keep it (so DEL works after a restart), run the
 *           delegate, answer its result in the config's version;
 *   DEL     run the delegate's DEL with the config kept at ADD, then forget it; a container the plugin
 *           never added (or already deleted) is success, as the spec asks;
 *   CHECK   (0.4.0+) the container was added here, the host still has the subnet it was added on, and
 *           the delegate's CHECK passes with the prevResult;
 *   VERSION the versions the plugin speaks.
 * I/O is injected (state store, plugin runner, file reader) so every path is unit-tested.
 */
import type { CniEnv } from './env.js';
import { configVersion, type FlannelNetConf } from './netconf.js';
import { buildDelegate, delegateSubnet } from './delegate.js';
import { callDelegate, type PluginRunner } from './invoke.js';
import { convertResult, parseResult } from './result.js';
import { readFlannelSubnet } from './subnet-file.js';
import type { StateStore } from './state.js';
import { allowsCheck, CNI_SPEC_VERSIONS, CniError, CniErrorCode, isSupportedVersion, type CniResult, type CniVersionResult } from './spec.js';
import { formatNet } from '../../network/ipv4.js';

export interface CommandDeps {
  store: StateStore;
  runner: PluginRunner;
  /** reads subnet.env (throws ENOENT like fs) */
  readFile: (path: string) => string;
  /** the plugin's environment, handed to the delegate */
  processEnv: NodeJS.ProcessEnv;
}

function delegateEnv(env: CniEnv, deps: CommandDeps) {
  return { env: deps.processEnv, cniPath: env.path };
}

function parseJson(text: string, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch { /* reported below */ }
  throw new CniError(CniErrorCode.DECODING_FAILURE, `cannot decode ${what}`, text.slice(0, 200));
}

export function cmdAdd(env: CniEnv, conf: FlannelNetConf, deps: CommandDeps): CniResult {
  const sub = readFlannelSubnet(conf.subnetFile, deps.readFile);
  const delegate = buildDelegate(conf, sub);
  const text = JSON.stringify(delegate);
  deps.store.save(conf.dataDir, env.containerId, text, { netns: env.netns, ifname: env.ifname, network: conf.name });
  const out = callDelegate(deps.runner, { command: 'ADD', type: String(delegate.type), config: text, ...delegateEnv(env, deps) });
  let parsed: unknown;
  try {
    parsed = JSON.parse(out);
  } catch {
    throw new CniError(CniErrorCode.DELEGATE_FAILED, 'the delegate returned an invalid result', `not JSON: ${out.slice(0, 200)}`);
  }
  return convertResult(parseResult(parsed), conf.cniVersion);
}

export function cmdDel(env: CniEnv, conf: FlannelNetConf, deps: CommandDeps): void {
  const kept = deps.store.load(conf.dataDir, env.containerId);
  if (kept === undefined) return; // never added here, or already deleted: nothing to release
  const delegate = parseJson(kept, `the delegate config kept for ${env.containerId} in ${conf.dataDir}`);
  const type = typeof delegate.type === 'string' ? delegate.type : 'bridge';
  callDelegate(deps.runner, { command: 'DEL', type, config: kept, ...delegateEnv(env, deps) });
  // Forgotten only once the delegate has released everything: a failed DEL is retried by the runtime.
  deps.store.remove(conf.dataDir, env.containerId);
}

export function cmdCheck(env: CniEnv, conf: FlannelNetConf, deps: CommandDeps): void {
  if (!allowsCheck(conf.cniVersion)) throw new CniError(CniErrorCode.INCOMPATIBLE_VERSION, 'config version does not allow CHECK', `cniVersion ${conf.cniVersion}; CHECK came with 0.4.0`);
  if (!conf.prevResult) throw new CniError(CniErrorCode.INVALID_NETWORK_CONFIG, 'CHECK needs prevResult', "the result of the container's ADD must be in the config");
  const prev = parseResult(conf.prevResult);
  const sub = readFlannelSubnet(conf.subnetFile, deps.readFile);
  const kept = deps.store.load(conf.dataDir, env.containerId);
  if (kept === undefined) throw new CniError(CniErrorCode.UNKNOWN_CONTAINER, `container ${env.containerId} was not added to network ${conf.name} by this plugin`, `no delegate config in ${conf.dataDir}`);
  const delegate = parseJson(kept, `the delegate config kept for ${env.containerId} in ${conf.dataDir}`);
  const was = delegateSubnet(delegate);
  const now = formatNet(sub.subnet);
  if (was !== now) {
    throw new CniError(CniErrorCode.SUBNET_CHANGED, `the host's flannel subnet is ${now}, the container was added on ${was ?? 'an unknown subnet'}`, 'its address is no longer routed to this host: the container must be re-created');
  }
  const keptVersion = typeof delegate.cniVersion === 'string' && isSupportedVersion(delegate.cniVersion) ? delegate.cniVersion : conf.cniVersion;
  const config = JSON.stringify({ ...delegate, prevResult: convertResult(prev, keptVersion) });
  callDelegate(deps.runner, { command: 'CHECK', type: typeof delegate.type === 'string' ? delegate.type : 'bridge', config, ...delegateEnv(env, deps) });
}

/**
 * VERSION: stdin may hold {"cniVersion": "..."} (1.0.0) or nothing (older runtimes); the answer is in the
 * version asked for when the plugin speaks it, else in the newest it speaks. Never an error, as libcni's.
 */
export function cmdVersion(stdin: string): CniVersionResult {
  let asked: string | undefined;
  try {
    const v = JSON.parse(stdin) as { cniVersion?: unknown };
    if (typeof v?.cniVersion === 'string') asked = v.cniVersion;
  } catch { /* empty or not JSON: answer in the newest version */ }
  const newest = CNI_SPEC_VERSIONS[CNI_SPEC_VERSIONS.length - 1]!;
  return { cniVersion: asked && isSupportedVersion(asked) ? asked : newest, supportedVersions: [...CNI_SPEC_VERSIONS] };
}

/** The version errors are reported in: the config's when it names a supported one, else the newest. */
export function errorVersion(stdin: string): string {
  try {
    return configVersion(JSON.parse(stdin) as Record<string, unknown>);
  } catch {
    return CNI_SPEC_VERSIONS[CNI_SPEC_VERSIONS.length - 1]!;
  }
}
