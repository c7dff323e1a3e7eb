/**
 * Phase 5 — Push agent: `dist/flanneld` to every host whose installed copy has another sha256, all hosts at
 * once (bounded by --concurrent-uploads), written to a temporary name and renamed (a running executable
 * cannot be overwritten). The transfer mode (plain stream by default, gzip -1 stream, SFTP) is the
 * inventory's flannel_transfer_compression (docs/transfer.md has the measurements behind the default).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Phase, PhaseContext } from '../framework/types.js';
import { InvalidInputError } from '../../util/errors.js';
import { agentPath } from '../shared/gather-facts.js';
import { gathered } from '../shared/host-state.js';
import { localBinary, pushIfDifferent, type LocalBinary } from '../shared/push-binary.js';

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

/** The local agent with its sha256 (cached: push-binary.ts). */
export function localAgent(): Promise<LocalAgent> {
  return localBinary(agentBinaryPath());
}

async function pushAgent(ctx: PhaseContext): Promise<void> {
  const a = await localAgent();
  await ctx.forEachHost(async (h, rec) => {
    const pushed = await pushIfDifferent(h, rec, { binary: a, remotePath: agentPath(h), remoteSha256: gathered(h).agent.sha256, transfer: h.spec.flannel.transfer, what: 'the agent' }, ctx.options.signal);
    if (pushed) h.facts.binaryChanged = true;
  }, { limit: 'uploads' });
}

export const pushAgentPhase: Phase = {
  title: 'Push agent',
  dryRun: pushAgent,
  run: pushAgent,
};
