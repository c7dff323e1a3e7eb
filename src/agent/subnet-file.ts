/**
 * subnet.env on disk: read the previous one at start, write the new one atomically (temp file in
 * the same directory + rename, mode 0644 regardless of umask, directory 0755) like flannel's renameio.
 */
import { chmod, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { formatSubnetEnv, parseSubnetEnv, type PreviousSubnetEnv, type SubnetEnv } from '../network/subnet-env.js';

export async function readPreviousSubnetEnv(path: string): Promise<PreviousSubnetEnv | undefined> {
  try {
    return parseSubnetEnv(await readFile(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Writes `env` to `path` atomically; returns true when the content changed. */
export async function writeSubnetEnvFile(path: string, env: SubnetEnv): Promise<boolean> {
  const text = formatSubnetEnv(env);
  const old = await readFile(path, 'utf8').catch(() => undefined);
  if (old === text) return false;
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await chmod(tmp, 0o644);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  return true;
}
