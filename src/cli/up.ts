/**
 * `flanprov up [INVENTORY]`: provision or converge every host, then verify with real cross-host pings.
 * Wiring only: the options, reporters, run and exit code are the shared ones (output/command.ts), the
 * phases are in src/phases/up/, the files come from templates/ (inventory/host-files.ts).
 */
import type { Command } from 'commander';
import type { Phase } from '../phases/framework/types.js';
import { runCommand } from './output/command.js';
import { addCommonOptions, type CommonOpts } from './output/options.js';
import { connectPhase } from '../phases/shared/connect.js';
import { lockPhase } from '../phases/shared/lock.js';
import { factsPhase } from '../phases/shared/gather-facts.js';
import { preflightPhase } from '../phases/up/preflight.js';
import { seedEtcdPhase } from '../phases/up/seed-etcd.js';
import { copyEtcdV2Phase } from '../phases/up/copy-etcd-v2.js';
import { pushAgentPhase } from '../phases/up/push-agent.js';
import { installUnitsPhase } from '../phases/up/install-units.js';
import { adoptAgentPhase } from '../phases/up/adopt-agent.js';
import { adoptDockerPhase } from '../phases/up/adopt-docker.js';
import { startPhase } from '../phases/up/start.js';
import { cniNetworkPhase } from '../phases/up/cni-network.js';
import { verifyPhase } from '../phases/shared/verify.js';
import { reportPhase } from '../phases/up/report.js';
import { ETCD_UP_PHASES, etcdReadyPhase, withEtcdFacts } from '../phases/etcd/up.js';

export const UP_PHASES: Phase[] = [
  connectPhase, lockPhase('exclusive'), withEtcdFacts(factsPhase), preflightPhase, ...ETCD_UP_PHASES, pushAgentPhase, etcdReadyPhase, copyEtcdV2Phase, seedEtcdPhase,
  adoptAgentPhase, adoptDockerPhase, installUnitsPhase, startPhase, cniNetworkPhase, verifyPhase, reportPhase,
];

export function defineUp(c: Command): void {
  c.argument('[inventory]', 'inventory file (same as -i)');
  addCommonOptions(c)
    .option('--no-verify', 'skip the ping matrix')
    .option('--raise-mtu', 'restart Docker where its MTU is smaller than the network\'s (e.g. kept after vxlan → host-gw); default: keep it and say so')
    .option('--adopt', 'take over hosts built by hand: a flanneld flanprov did not install (hand-started or their own unit; its flags must match the inventory; the host keeps its subnet) and the flannel flags in Docker\'s own sources (backups kept) (docs/adopt.md)')
    .option('-y, --yes', 'remove etcd members whose hosts left the etcd group (never when it would cost the cluster its quorum)')
    .action(async (inventory: string | undefined, opts: CommonOpts & { verify: boolean; raiseMtu?: boolean; yes?: boolean; adopt?: boolean }) => {
      if (inventory) opts.inventory = [inventory, ...(opts.inventory ?? [])];
      process.exitCode = await runCommand({ command: 'up', opts, phases: UP_PHASES, state: { verify: opts.verify !== false, raiseMtu: !!opts.raiseMtu, etcdAllowRemove: !!opts.yes, adopt: !!opts.adopt } });
    });
}
