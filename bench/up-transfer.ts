/**
 * Benchmark: getting the agent onto N hosts with each way flanprov has (docs/transfer.md), on a lab with or
 * without distance. Before each run the installed agent is replaced by other bytes on every host (a new
 * inode: the running agent keeps its own), so every host needs it; the figure is the "Push agent" phase
 * (all hosts in parallel), the run's total beside it.
 *   node --import tsx bench/up-transfer.ts [--sizes 3,10,20] [--wan 50ms,100mbit] [--modes LIST] [--rounds 2]
 * Modes: push-xz (the default push where hosts have xz), push-gzip (hosts without xz: minimal Debian),
 * push-plain, peers (plain between the hosts), peers-xz (flannel_agent_peer_compression: the seed's xz copy), url (a mirror on the hosts' side of the WAN, test/e2e/mirror.ts). Every lab host gets the
 * machine's xz (as Debian standard, Ubuntu and RHEL installs have it) except for push-gzip, which asks for gzip.
 * Labs are named bt<N> (prefixed with FLANPROV_E2E_LAB_PREFIX) and removed afterwards.
 */
import { join } from 'node:path';
import { Lab, LABS, ROOT, flanprov, jsonEvents, sh } from '../test/e2e/up-helpers.js';
import { Mirror } from '../test/e2e/mirror.js';

const ALL_MODES = ['push-xz', 'push-gzip', 'push-plain', 'peers', 'peers-xz', 'url'] as const;
type Mode = (typeof ALL_MODES)[number];

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

async function giveXz(lab: Lab): Promise<void> {
  const dir = join(LABS, lab.name, 'ssh');
  await Promise.all(lab.hosts.map(async (h) => {
    const r = await sh('bash', ['-c', `ssh -i ${dir}/id_ed25519 -o UserKnownHostsFile=${dir}/known_hosts -o BatchMode=yes root@${h.ip} 'cat > /usr/local/bin/xz && chmod 755 /usr/local/bin/xz' < /usr/bin/xz`]);
    if (r.code !== 0) throw new Error(`xz to ${h.name}: ${r.stderr}`);
  }));
}

const secs = (ms: number): string => (ms / 1000).toFixed(2);

async function main(): Promise<void> {
  const sizes = arg('--sizes', '3,10,20').split(',').map(Number);
  const wan = process.argv.includes('--wan') ? arg('--wan', '') : undefined;
  const modes = arg('--modes', ALL_MODES.join(',')).split(',') as Mode[];
  const rounds = Number(arg('--rounds', '2'));
  for (const m of modes) if (!ALL_MODES.includes(m)) throw new Error(`unknown mode ${m} (${ALL_MODES.join(', ')})`);
  console.log(`agent delivery${wan ? `, lab with --wan ${wan}` : ', bare lab'}; modes ${modes.join(', ')}; best of ${rounds}`);
  const table: string[] = [];
  for (const n of sizes) {
    const lab = await Lab.up(`bt${n}`, ['--hosts', String(n), ...(wan ? ['--wan', wan] : [])]);
    let mirror: Mirror | undefined;
    try {
      const first = await flanprov('up', lab.inventory, '--output', 'json');
      if (first.code !== 0) throw new Error(`first up failed: ${first.stdout.slice(-2000)}`);
      await giveXz(lab);
      if (modes.includes('url')) mirror = await Mirror.start(lab, { '/flanneld.xz': join(ROOT, 'dist/flanneld.xz') });
      const row: string[] = [];
      for (const mode of modes) {
        const inv = lab.variant((i) => {
          if (mode === 'push-gzip') i.all.vars.flannel_transfer_compression = 'gzip';
          if (mode === 'push-plain') i.all.vars.flannel_transfer_compression = 'none';
          if (mode === 'peers' || mode === 'peers-xz') i.all.vars.flannel_agent_source = 'peers';
          if (mode === 'peers-xz') i.all.vars.flannel_agent_peer_compression = true;
          if (mode === 'url') Object.assign(i.all.vars, { flannel_agent_source: 'url', flannel_agent_url: mirror!.url('/flanneld.xz') });
        });
        const runs: { push: number; total: number; detail: string }[] = [];
        for (let r = 0; r < rounds; r++) {
          await lab.sshAll("rm -f /usr/local/bin/flanneld && printf 'not the agent' > /usr/local/bin/flanneld && chmod 755 /usr/local/bin/flanneld");
          const out = await flanprov('up', inv, '--output', 'json', '--no-verify');
          const ev = jsonEvents(out.stdout);
          if (out.code !== 0) throw new Error(`up (${mode}, ${n} hosts) failed: ${ev.find((e) => e.event === 'error')?.message ?? out.stderr}`);
          const push = ev.find((e) => e.event === 'phase.end' && e.phase === 'Push agent')!;
          const changes = ev.filter((e) => e.event === 'host.change' && e.phase === 'Push agent').map((e) => String(e.change));
          const pushed = changes.filter((c) => / pushed to /.test(c)).length;
          runs.push({ push: push.ms, total: ev.at(-1)!.ms, detail: `${pushed} sent by the controller, ${changes.length - pushed} from peers/mirror` });
        }
        const best = runs.reduce((a, b) => (a.push < b.push ? a : b));
        console.log(`${n} hosts ${mode.padEnd(10)} push phase best ${secs(best.push)} s (runs ${runs.map((x) => secs(x.push)).join(' / ')} s; whole up ${secs(best.total)} s) — ${best.detail}`);
        row.push(`${mode} ${secs(best.push)} s`);
      }
      table.push(`${n} hosts: ${row.join(', ')}`);
    } finally {
      await mirror?.stop();
      await flanprov('down', '--yes', '-i', lab.inventory);
      await lab.down();
    }
  }
  console.log(`\nsummary (Push agent phase, best of ${rounds}${wan ? `, --wan ${wan}` : ''}):\n${table.join('\n')}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
