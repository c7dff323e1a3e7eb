/** The controller's etcd binary: `--version` and the ELF machine it is built for, read once per path per run. */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import type { LocalEtcd } from './binary-plan.js';
import { parseEtcdVersion } from './member-facts.js';

/** ELF e_machine → `uname -m`. */
const ELF_MACHINES: Record<number, string> = { 3: 'i686', 40: 'armv7l', 62: 'x86_64', 183: 'aarch64', 243: 'riscv64' };

export function elfMachine(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(20);
    if (readSync(fd, b, 0, 20, 0) < 20 || b.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const machine = b[5] === 2 ? b.readUInt16BE(18) : b.readUInt16LE(18);
    return ELF_MACHINES[machine] ?? `elf-machine-${machine}`;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const seen = new Map<string, Promise<LocalEtcd>>();

export function localEtcd(path: string): Promise<LocalEtcd> {
  let p = seen.get(path);
  if (!p) {
    p = new Promise<LocalEtcd>((resolve) => {
      execFile(path, ['--version'], { timeout: 10_000 }, (err, stdout) => {
        const version = parseEtcdVersion(String(stdout));
        const machine = elfMachine(path);
        if (err && !version) resolve({ path, error: `\`${path} --version\` failed: ${err.message.split('\n')[0]}` });
        else if (!version) resolve({ path, error: `\`${path} --version\` printed no "etcd Version:" line` });
        else resolve({ path, version, ...(machine ? { machine } : {}) });
      });
    });
    seen.set(path, p);
  }
  return p;
}
