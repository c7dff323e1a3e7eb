import type { Command } from 'commander';

/** `flanprov lab up|down|status|rootfs`: see src/lab/. */
export function registerLab(program: Command): void {
  program.command('lab').description('a real multi-host cluster on this Linux machine (systemd-nspawn hosts, etcd, Docker)');
}
