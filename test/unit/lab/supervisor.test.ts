/**
 * The host supervisor's loop (src/lab/supervisor.ts), run by sh with stand-ins for systemd-nspawn and ip
 * on PATH: it boots again after exit 133 or with the reboot flag, remakes the network namespace in between,
 * stops on any other exit, and passes SIGTERM on without booting again.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REBOOT_FLAG, supervisorScript } from '../../../src/lab/supervisor.js';
import type { NicRebuild } from '../../../src/lab/net.js';

const NIC: NicRebuild = { ns: 'fpl-t-h1', peerNs: 'fpl-t-sw', peerPort: 'h1', root: [], peer: [], host: [] };

/** A fake systemd-nspawn that exits with the codes listed in `codes` (one per boot; "sleep" = wait for a signal). */
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function setup(codes: string[]): { dir: string; bin: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fp-sup-'));
  dirs.push(dir);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(dir, 'codes'), codes.join('\n') + '\n');
  writeFileSync(join(bin, 'systemd-nspawn'), `#!/bin/sh
n=$(cat ${dir}/boots 2>/dev/null || echo 0); n=$((n + 1)); echo $n > ${dir}/boots
echo "boot $n $*" >> ${dir}/log
code=$(sed -n "\${n}p" ${dir}/codes)
if [ "$code" = sleep ]; then trap 'echo term >> ${dir}/log; exit 0' TERM; while :; do sleep 0.05; done; fi
[ "$code" = flag ] && { touch ${dir}/${REBOOT_FLAG}; exit 1; }
exit "$code"
`);
  writeFileSync(join(bin, 'ip'), `#!/bin/sh\necho "ip $*" >> ${dir}/log\n`);
  chmodSync(join(bin, 'systemd-nspawn'), 0o755);
  chmodSync(join(bin, 'ip'), 0o755);
  return { dir, bin };
}

function runSupervisor(dir: string, bin: string, onStart?: (pid: number) => void): Promise<number> {
  return new Promise((resolve) => {
    const c = spawn('sh', ['-c', supervisorScript(NIC), 'sh', dir, '--', '-D', '/x', '--boot'], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, stdio: 'ignore' });
    c.on('exit', (code) => resolve(code ?? -1));
    onStart?.(c.pid!);
  });
}

const log = (dir: string): string[] => readFileSync(join(dir, 'log'), 'utf8').trim().split('\n');

describe('lab host supervisor', () => {
  it('boots again after exit 133 (reboot), remaking the network namespace in between; stops at poweroff (0)', async () => {
    const { dir, bin } = setup(['133', '0']);
    assert.equal(await runSupervisor(dir, bin), 0);
    assert.deepEqual(log(dir), [
      'boot 1 -D /x --boot',
      "ip netns del fpl-t-h1",
      'ip -n fpl-t-sw link del h1',
      `ip -batch ${dir}/nic-root.batch`,
      `ip -n fpl-t-sw -batch ${dir}/nic-peer.batch`,
      `ip -n fpl-t-h1 -batch ${dir}/nic-host.batch`,
      'boot 2 -D /x --boot',
    ]);
  });

  it('boots again after any exit when the reboot flag is there (lab reboot --hard), and removes the flag', async () => {
    const { dir, bin } = setup(['flag', '3']);
    assert.equal(await runSupervisor(dir, bin), 3, 'the exit code of the last nspawn');
    assert.deepEqual(log(dir).filter((l) => l.startsWith('boot')), ['boot 1 -D /x --boot', 'boot 2 -D /x --boot']);
    assert.equal(existsSync(join(dir, REBOOT_FLAG)), false);
  });

  it('passes SIGTERM on to nspawn and does not boot again', async () => {
    const { dir, bin } = setup(['sleep', '0']);
    const code = await runSupervisor(dir, bin, (pid) => {
      const t = setInterval(() => {
        if (existsSync(join(dir, 'boots'))) {
          clearInterval(t);
          setTimeout(() => process.kill(pid, 'SIGTERM'), 100);
        }
      }, 20);
    });
    assert.equal(code, 0);
    assert.deepEqual(log(dir), ['boot 1 -D /x --boot', 'term']);
  });
});
