/**
 * Benchmark: pushing the agent (dist/flanneld) to every host with each flannel_transfer_compression mode
 * (none = plain stream over exec, gzip = gzip -1 stream, sftp), from nothing: the binary is removed on
 * every host before each run. Prints the Push agent phase time (all hosts in parallel) and bytes on the wire.
 *   node --import tsx bench/up-transfer.ts [INVENTORY_OF_A_RUNNING_LAB] [rounds=2]
 * Without an inventory it builds a 3-host lab `bxfer` and removes it afterwards.
 */
import { Lab, flanprov, jsonEvents } from '../test/e2e/up-helpers.js';

const MODES = ['none', 'gzip', 'sftp'] as const;

async function main(): Promise<void> {
  const given = process.argv[2];
  const rounds = Number(process.argv[3] ?? 2);
  const lab = given ? new Lab(given.split('/').at(-2)!) : await Lab.up('bxfer');
  try {
    const times = new Map<string, number[]>(MODES.map((m) => [m, []]));
    for (let r = 0; r < rounds; r++) {
      for (const mode of MODES) {
        const inv = lab.variant((i) => { i.all.vars.flannel_transfer_compression = mode; });
        await lab.sshAll('rm -f /usr/local/bin/flanneld');
        const out = await flanprov('up', inv, '--output', 'json', '--no-verify');
        const ev = jsonEvents(out.stdout);
        if (out.code !== 0) throw new Error(`up (${mode}) failed: ${ev.find((e) => e.event === 'error')?.message ?? out.stderr}`);
        const push = ev.find((e) => e.event === 'phase.end' && e.phase === 'Push agent')!;
        const detail = ev.filter((e) => e.event === 'host.change' && e.phase === 'Push agent').map((e) => e.change.replace(/^agent pushed to \S+ /, '')).join(', ');
        times.get(mode)!.push(push.ms);
        console.log(`round ${r + 1} ${mode.padEnd(4)} to ${lab.hosts.length} hosts: ${(push.ms / 1000).toFixed(2)} s  [${detail}]`);
      }
    }
    for (const [mode, t] of times) console.log(`${mode.padEnd(4)}: best ${(Math.min(...t) / 1000).toFixed(2)} s, runs ${t.map((x) => (x / 1000).toFixed(2)).join(' / ')} s`);
  } finally {
    if (!given) {
      await flanprov('down', '--yes', '-i', lab.inventory);
      await lab.down();
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
