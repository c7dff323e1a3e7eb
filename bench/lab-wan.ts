/**
 * Bench: how well `lab up --wan RTT,RATE` emulates distance (docs/lab-wan.md). Per setting, on a 2-host lab:
 *   - ping RTT from the root namespace to a host (100 pings, 20 ms apart: min/avg/max) and host to host
 *     (which must stay unaffected), and to the lab etcd
 *   - bulk copy over ssh, both directions (controller -> host: `cat > /dev/null`; host -> controller:
 *     `head -c`), throughput as the user sees it (ssh's own framing and TCP/IP headers included)
 *   - the forwarder's CPU: idle, and during each copy (percent of one core)
 * Prints figures, never passes/fails. Run as root: node --import tsx bench/lab-wan.ts [50ms,100mbit ...]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseWan } from '../src/lab/wan.js';

const ROOT = join(__dirname, '..');
const LABS = '/var/lib/flanprov/labs';
const settings = process.argv.slice(2).length ? process.argv.slice(2) : ['50ms,100mbit', '10ms,1gbit', '100ms,10mbit', '2ms,100mbit'];

function cli(...args: string[]): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`flanprov ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
}

function cpuTicks(pid: number): number {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
}
const TICK = 100; // USER_HZ

function pingStats(args: string[]): string {
  const out = execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  const m = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\//.exec(out);
  const loss = /(\d+)% packet loss/.exec(out)?.[1];
  return m ? `min ${m[1]} / avg ${m[2]} / max ${m[3]} ms (${loss}% loss)` : out.trim();
}

function timed(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function main(): void {
  if (process.getuid?.() !== 0) throw new Error('run as root');
  for (const [k, setting] of settings.entries()) {
    const w = parseWan(setting);
    const lab = `${process.env.FLANPROV_E2E_LAB_PREFIX ?? ''}bw${k}`;
    cli('lab', 'down', '--name', lab);
    cli('lab', 'up', '--name', lab, '--hosts', '2', '--wan', setting);
    try {
      const st = JSON.parse(readFileSync(join(LABS, lab, 'state.json'), 'utf8')) as { wan: { pid: number }; hosts: Array<{ ip: string }>; plan: { etcdIp: string } };
      const [h1, h2] = st.hosts.map((h) => h.ip) as [string, string];
      const ssh = ['-i', join(LABS, lab, 'ssh/id_ed25519'), '-o', `UserKnownHostsFile=${join(LABS, lab, 'ssh/known_hosts')}`, '-o', 'BatchMode=yes'];
      const pid = st.wan.pid;
      console.log(`--wan ${setting}`);
      const idle0 = cpuTicks(pid);
      const idleS = timed(() => execFileSync('sleep', ['5']));
      console.log(`  forwarder CPU idle: ${((cpuTicks(pid) - idle0) / TICK / idleS * 100).toFixed(2)} % of a core`);
      console.log(`  ping root -> host (100): ${pingStats(['ping', '-q', '-c', '100', '-i', '0.02', h1])}`);
      console.log(`  ping root -> etcd (100): ${pingStats(['ping', '-q', '-c', '100', '-i', '0.02', st.plan.etcdIp])}`);
      console.log(`  ping host -> host (100): ${pingStats(['ssh', ...ssh, `root@${h1}`, `ping -q -c 100 -i 0.01 ${h2}`])}`);
      // enough bytes for ~8 s at the rate, at most 100 MB
      const mb = Math.max(1, Math.min(100, Math.floor((w.rateBitsPerS / 8) * 8 / 1e6)));
      for (const dir of ['controller -> host', 'host -> controller'] as const) {
        const c0 = cpuTicks(pid);
        const s = timed(() => {
          if (dir === 'controller -> host') execFileSync('sh', ['-c', `head -c ${mb}M /dev/zero | ssh ${ssh.map((a) => `'${a}'`).join(' ')} root@${h1} 'cat > /dev/null'`]);
          else execFileSync('sh', ['-c', `ssh ${ssh.map((a) => `'${a}'`).join(' ')} root@${h1} 'head -c ${mb}M /dev/zero' > /dev/null`]);
        });
        const cpu = (cpuTicks(pid) - c0) / TICK / s * 100;
        console.log(`  bulk ${mb} MB over ssh, ${dir}: ${s.toFixed(2)} s = ${((mb * 1048576 * 8) / s / 1e6).toFixed(1)} Mbit/s (forwarder CPU ${cpu.toFixed(1)} % of a core)`);
      }
    } finally {
      cli('lab', 'down', '--name', lab);
    }
  }
}

main();
