/**
 * `flanprov down --yes`: remove flannel from the hosts — agent, units, drop-in, env/TLS files, binary,
 * flannel devices, routes inside the Network, iptables chains and their jumps, the hosts' leases,
 * subnet.env — and restart Docker so it is back on its default bridge. Refuses without --yes when stdin is
 * not a terminal; asks when it is.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { ExitCode } from '../util/errors.js';
import { connectPhase } from '../phases/shared/connect.js';
import { lockPhase } from '../phases/shared/lock.js';
import { factsPhase } from '../phases/shared/gather-facts.js';
import { closeEtcd } from '../phases/shared/etcd-session.js';
import { leasesPhase, teardownPhase } from '../phases/down/phases.js';
import { runCommand } from './output/command.js';
import { addCommonOptions, inventorySources, type CommonOpts } from './output/options.js';
import { withEtcdFacts } from '../phases/etcd/up.js';
import { etcdDownPhase } from '../phases/etcd/down.js';

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export function defineDown(c: Command): void {
  addCommonOptions(c)
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--etcd', 'also take down the etcd cluster flanprov runs (its data dirs are kept)')
    .option('--purge', 'with --etcd: delete the etcd data dirs too, and forget the cluster')
    .action(async (opts: CommonOpts & { yes?: boolean; etcd?: boolean; purge?: boolean }) => {
      if ((opts.purge && !opts.etcd) || (opts.etcd && opts.limit)) {
        process.stderr.write(`flanprov down: ${opts.purge && !opts.etcd ? '--purge goes with --etcd' : '--etcd takes the whole etcd cluster down and cannot be combined with --limit'}\n`);
        process.exitCode = ExitCode.INVALID_INPUT;
        return;
      }
      if (!opts.yes && !opts.dryRun) {
        if (!process.stdin.isTTY) {
          process.stderr.write('flanprov down: refusing to remove flannel without --yes (stdin is not a terminal)\n');
          process.exitCode = ExitCode.INVALID_INPUT;
          return;
        }
        if (!(await confirm(`Remove flannel${opts.etcd ? ` and etcd${opts.purge ? ' with its data' : ''}` : ''} from every host of ${inventorySources(opts).join(', ')}${opts.limit ? ` (limit ${opts.limit})` : ''}? [y/N] `))) {
          process.stderr.write('flanprov down: cancelled\n');
          process.exitCode = ExitCode.INVALID_INPUT;
          return;
        }
      }
      const leases = { ...leasesPhase, cleanUp: closeEtcd };
      // etcd goes last: the leases are deleted through it
      const phases = opts.etcd
        ? [connectPhase, lockPhase('exclusive'), withEtcdFacts(factsPhase), teardownPhase, leases, etcdDownPhase]
        : [connectPhase, lockPhase('exclusive'), factsPhase, teardownPhase, leases];
      process.exitCode = await runCommand({ command: 'down', opts, phases, state: { etcdPurge: !!opts.purge } });
    });
}
