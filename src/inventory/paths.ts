/** Paths written in an inventory: `~` is the controller user's home, relative paths are relative to the inventory. */
import { isAbsolute, resolve } from 'node:path';

export function expandPath(p: string, home: string, baseDir: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return resolve(home, p.slice(2));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}
