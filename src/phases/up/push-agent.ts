/**
 * Phase 5 — Push agent: `dist/flanneld` to every host whose installed copy has another sha256, by the host's
 * flannel_agent_source: auto (the default: peers when several hosts need it, else push), push (from the controller, the prebuilt xz/gzip copy the host can decode:
 * flannel_transfer_compression), url (the host downloads it from a mirror) or peers (the controller pushes to
 * one host, the others copy from each other). Always to a temporary name, checked (length, sha256) and
 * renamed: a running executable cannot be overwritten, and a cut transfer leaves the old one.
 * docs/transfer.md has the measurements behind the defaults.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { HostRecorder, HostState, Phase, PhaseContext } from '../framework/types.js';
import { Limiter } from '../framework/limit.js';
import { InvalidInputError } from '../../util/errors.js';
import { agentPath } from '../shared/gather-facts.js';
import { gathered } from '../shared/host-state.js';
import { hostTools, localBinary, pushIfDifferent, type LocalBinary } from '../shared/push-binary.js';
import { autoSource, runSources, type RunSource } from '../shared/agent-source.js';
import { fetchFromUrl } from '../shared/agent-source-url.js';
import { peerCopier } from '../shared/agent-source-peers.js';

export type LocalAgent = LocalBinary;

/** dist/flanneld next to the CLI bundle (dist/flanprov.cjs) or of the checkout (running from src/); or $FLANPROV_AGENT. */
export function agentBinaryPath(): string {
  const candidates = [
    process.env.FLANPROV_AGENT,
    join(__dirname, 'flanneld'),
    resolve(__dirname, '../../../dist/flanneld'),
  ].filter((x): x is string => !!x);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new InvalidInputError(`the agent binary is missing (looked at ${candidates.join(', ')})`, undefined, 'run `npm run build` (or set FLANPROV_AGENT=/path/to/flanneld)');
  return found;
}

/** The local agent with its sha256 and prebuilt compressed copies (push-binary.ts: the build's manifest). */
export function localAgent(): Promise<LocalAgent> {
  return localBinary(agentBinaryPath());
}

const WHAT = 'the agent';

async function deliverAgent(ctx: PhaseContext): Promise<void> {
  const a = await localAgent();
  const targets = ctx.hosts.filter((h) => !h.failed);
  const stale = (h: HostState): boolean => gathered(h).agent.sha256 !== a.sha256;
  // flannel_agent_source auto decided for this run: peers when several hosts need the agent (agent-source.ts)
  const needing = targets.filter(stale);
  const inputs = needing.map((h) => ({ kind: h.spec.flannel.agentSource.kind, tools: hostTools(h) }));
  const decided = runSources(inputs);
  const auto = autoSource(inputs);
  const source = new Map(needing.map((h, i) => [h, decided[i]!]));
  const sourceOf = (h: HostState): RunSource => source.get(h) ?? 'push';
  const peers = needing.filter((h) => sourceOf(h) === 'peers');
  // every push of the phase (push hosts, the peers seed, peers that fall back) shares --concurrent-uploads;
  // the rest runs under --concurrency
  const uploads = new Limiter(ctx.options.uploadConcurrency);
  const copier = !ctx.options.dryRun && peers.length ? peerCopier(ctx, { binary: a, hosts: peers, remotePath: agentPath, what: WHAT, uploads }) : undefined;
  // the seed first: with --concurrency smaller than the cluster, the hosts that wait for a peer never hold
  // every slot while the seed waits for one
  const order = copier ? [...copier.order.slice(0, 1), ...targets.filter((h) => !copier.order.includes(h)), ...copier.order.slice(1)] : targets;

  const one = async (h: HostState, rec: HostRecorder): Promise<void> => {
    const src = h.spec.flannel.agentSource;
    const kind = sourceOf(h);
    if (src.kind === 'auto' && stale(h)) {
      rec.info(`agent source auto: ${kind} (${auto.why})`);
    }
    if (kind === 'push' || !stale(h)) {
      if (await pushIfDifferent(h, rec, { binary: a, remotePath: agentPath(h), remoteSha256: gathered(h).agent.sha256, transfer: h.spec.flannel.transfer, what: WHAT, ...(ctx.options.signal ? { signal: ctx.options.signal } : {}) })) {
        h.facts.binaryChanged = true;
      }
      return;
    }
    if (rec.dryRun) {
      rec.changed(kind === 'url' ? `would download ${WHAT} from ${src.url} to ${agentPath(h)}`
        : `would get ${WHAT} from the controller or a peer host (port ${src.servePort}) into ${agentPath(h)}`);
      h.facts.binaryChanged = true;
      return;
    }
    if (kind === 'url') await fetchFromUrl(h, rec, { binary: a, remotePath: agentPath(h), url: src.url!, ...(src.proxy ? { proxy: src.proxy } : {}), what: WHAT });
    else await copier!.copy(h, rec);
    h.facts.binaryChanged = true;
  };

  try {
    await ctx.forEachHost((h, rec) => (sourceOf(h) === 'push' || !stale(h) ? uploads.run(() => one(h, rec)) : one(h, rec)), { hosts: order });
  } finally {
    await copier?.stopServers();
  }
}

export const pushAgentPhase: Phase = {
  title: 'Push agent',
  dryRun: deliverAgent,
  run: deliverAgent,
};
