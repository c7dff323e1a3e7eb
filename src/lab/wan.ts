/**
 * `lab up --wan RTT,RATE`: distance between the controller side (the root namespace, where flanprov runs)
 * and the lab. With it, the root veth does not lead straight into the switch but into a WAN namespace
 * (fpl-<lab>-wan) holding two interfaces, `ctl` (peer of the root veth) and `lab` (a port of the switch),
 * and a user-space forwarder between them (wan-forwarder.py: every frame delayed by RTT/2 each way; the
 * kernel here has no netem) plus a tbf qdisc of RATE on each (the shared bottleneck, both directions).
 * Everything the controller reaches (hosts' sshd, etcd, the routed host through the router) goes through
 * it; host-to-host and host-to-etcd traffic stays on the switch and never sees it. docs/lab-wan.md has the
 * measured accuracy and cost.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run, runOk, spawnDetached, pollUntil } from './exec.js';
import { pidAlive } from './state.js';
import { InvalidInputError, StepFailedError } from '../util/errors.js';

export interface WanSpec {
  /** as given, e.g. "50ms,100mbit" */
  text: string;
  rttMs: number;
  rateBitsPerS: number;
}

/** Interfaces inside the WAN namespace. */
export const WAN_CTL_IF = 'ctl';
export const WAN_LAB_IF = 'lab';

const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };
const RATE_UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };
const MAX_RTT_MS = 10_000;
const MIN_RATE = 64e3;
const MAX_RATE = 10e9;

/** "RTT,RATE": RTT in us|ms|s, RATE in bit|kbit|mbit|gbit (tc's bit units), e.g. "50ms,100mbit". */
export function parseWan(text: string): WanSpec {
  const where = '--wan';
  const parts = text.split(',');
  if (parts.length !== 2) throw new InvalidInputError(`--wan wants RTT,RATE (e.g. 50ms,100mbit), got "${text}"`, where);
  const [rttText, rateText] = parts.map((p) => p.trim().toLowerCase()) as [string, string];
  const t = /^(\d+(?:\.\d+)?)(us|ms|s)$/.exec(rttText);
  if (!t) throw new InvalidInputError(`--wan: RTT "${rttText}" is not a time like 50ms (units: us, ms, s)`, where);
  const rttMs = Number(t[1]) * TIME_UNITS[t[2]!]!;
  if (rttMs > MAX_RTT_MS) throw new InvalidInputError(`--wan: RTT ${rttText} is over ${MAX_RTT_MS / 1000} s`, where);
  const r = /^(\d+(?:\.\d+)?)([a-z]+)$/.exec(rateText);
  const unit = r ? RATE_UNITS[r[2]!] : undefined;
  if (!r || unit === undefined) {
    const bytes = r && /bps$/.test(r[2]!) ? ' (bytes per second units such as mbps are not taken: say mbit)' : '';
    throw new InvalidInputError(`--wan: RATE "${rateText}" is not a rate like 100mbit (units: bit, kbit, mbit, gbit)${bytes}`, where);
  }
  const rateBitsPerS = Number(r[1]) * unit;
  if (rateBitsPerS < MIN_RATE || rateBitsPerS > MAX_RATE) throw new InvalidInputError(`--wan: RATE ${rateText} is outside 64kbit..10gbit`, where);
  return { text: `${rttText},${rateText}`, rttMs, rateBitsPerS };
}

/**
 * tbf settings for one direction: the rate; a burst of 2 ms at that rate (at least 16 KB: a few full
 * frames); a queue (limit) of one bandwidth-delay product (at least 20 ms and 64 KB), the usual size of a
 * bottleneck buffer, so one TCP flow can fill the link.
 */
export function tbfParams(w: WanSpec): { rate: string; burstBytes: number; limitBytes: number } {
  const bytesPerS = w.rateBitsPerS / 8;
  return {
    rate: `${Math.round(w.rateBitsPerS)}bit`,
    burstBytes: Math.max(16 * 1024, Math.ceil(bytesPerS * 0.002)),
    limitBytes: Math.max(64 * 1024, Math.ceil(bytesPerS * Math.max(w.rttMs, 20) / 1000)),
  };
}

/** `ip -batch` lines for the WAN namespace (after its two veths were created in place by the caller). */
export function wanNsLines(): string[] {
  return ['link set dev lo up', `link set dev ${WAN_CTL_IF} up`, `link set dev ${WAN_LAB_IF} up`];
}

/** The forwarder's source: next to this module in a checkout (src/lab/), found above dist/ in the bundle. */
export function forwarderScript(): string {
  for (let d = __dirname; ; d = dirname(d)) {
    for (const p of [join(d, 'wan-forwarder.py'), join(d, 'src/lab/wan-forwarder.py')]) if (existsSync(p)) return p;
    if (dirname(d) === d) throw new Error(`internal: src/lab/wan-forwarder.py not found above ${__dirname}`);
  }
}

/**
 * Make the WAN namespace's interfaces quiet (no IPv6 of its own: it is a wire, not a host), put tbf on
 * both, start the forwarder. Returns its PID at once (the caller records it, then waitWanReady).
 */
export async function startWan(ns: string, w: WanSpec, logFile: string): Promise<number> {
  if ((await run('sh', ['-c', 'command -v python3'])).code !== 0) {
    throw new StepFailedError('--wan needs python3 (its forwarder), which is not installed', 'lab up', 'apt-get install python3');
  }
  await runOk('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], {}, ns);
  const t = tbfParams(w);
  for (const dev of [WAN_CTL_IF, WAN_LAB_IF]) {
    await runOk('tc', ['-n', ns, 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', t.rate, 'burst', String(t.burstBytes), 'limit', String(t.limitBytes)], {}, ns);
  }
  await runOk('ip', ['-n', ns, '-batch', '-'], { input: wanNsLines().join('\n') + '\n' }, ns);
  const delayUs = Math.round((w.rttMs * 1000) / 2);
  // `ip netns exec` execs python3: the PID is the forwarder's own
  return spawnDetached('ip', ['netns', 'exec', ns, 'python3', '-u', forwarderScript(), '--a', WAN_CTL_IF, '--b', WAN_LAB_IF, '--delay-us', String(delayUs)], logFile);
}

/** Until the forwarder says it has bound both interfaces. */
export async function waitWanReady(pid: number, logFile: string): Promise<void> {
  const ok = await pollUntil(() => {
    if (!pidAlive(pid)) throw new StepFailedError(`the WAN forwarder exited at start: ${tail(logFile)}`, 'lab up');
    return existsSync(logFile) && /^ready:/m.test(readFileSync(logFile, 'utf8'));
  }, 10_000, 20);
  if (!ok) throw new StepFailedError(`the WAN forwarder did not start within 10 s: ${tail(logFile)}`, 'lab up');
}

function tail(f: string): string {
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').slice(-5).join('; ') : '(no log)';
}

/** "50 ms RTT (25 ms each way), 100 Mbit/s shared, both directions" */
export function describeWan(w: WanSpec): string {
  const rate = w.rateBitsPerS >= 1e9 ? `${w.rateBitsPerS / 1e9} Gbit/s` : w.rateBitsPerS >= 1e6 ? `${w.rateBitsPerS / 1e6} Mbit/s` : `${w.rateBitsPerS / 1e3} kbit/s`;
  return `${w.rttMs} ms RTT (${w.rttMs / 2} ms each way), ${rate} each direction, shared by all hosts`;
}
