/**
 * `group_vars/` and `host_vars/` beside each inventory source, as Ansible's host_group_vars plugin finds them
 * (plugins/vars/host_group_vars.py + DataLoader.find_vars_files):
 * - for a name, the first of `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json` that exists is used (only one);
 * - when that is a directory, every file in it (sorted, recursively; hidden and `~` backups skipped; only
 *   no extension or .yml/.yaml/.json) is read in order, later files winning;
 * - the base is the source itself when it is a directory, else its directory; host-list sources have none.
 * Files are YAML or JSON (yaml-values.ts) and must hold a mapping; an empty file counts as nothing.
 */
import { existsSync, readdirSync, readFileSync, statSync, realpathSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { IssueList } from './errors.js';
import type { VarDef } from './model.js';
import { parseYamlFile, toValue, YamlSyntaxError } from './yaml-values.js';

const EXTS = ['.yml', '.yaml', '.json'];

/** The directory whose group_vars/ and host_vars/ belong to an inventory source; undefined for host lists. */
export function varsBaseOf(source: string): string | undefined {
  if (!existsSync(source)) return undefined;
  return statSync(source).isDirectory() ? source : dirname(source);
}

function dirFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort(byBytes)) {
    if (name.startsWith('.') || name.endsWith('~')) continue;
    const full = join(dir, name);
    const ext = pyExt(name);
    const st = statSync(full);
    if (st.isDirectory() && !ext) out.push(...dirFiles(full));
    else if (st.isFile() && (!ext || EXTS.includes(ext))) out.push(full);
  }
  return out;
}

/** os.path.splitext's extension (a leading dot alone is no extension). */
function pyExt(name: string): string {
  return name.replace(/^\.+/, '').includes('.') ? extname(name) : '';
}

/** Python sorts str by code point; so does this (JS's default sort compares UTF-16 units). */
export function byBytes(a: string, b: string): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y);
}

/** The files Ansible reads for `name` in `base/sub` (sub = group_vars | host_vars), in order. */
export function varsFilesFor(base: string, sub: 'group_vars' | 'host_vars', name: string): string[] {
  if (name.startsWith('/')) return [];
  let dir: string;
  try { dir = realpathSync(join(base, sub)); } catch { return []; }
  if (!statSync(dir).isDirectory()) return [];
  for (const ext of ['', ...EXTS]) {
    const p = join(dir, name + ext);
    if (!existsSync(p)) continue;
    return statSync(p).isDirectory() ? dirFiles(p) : [p];
  }
  return [];
}

/** Caches parsed files: every host reads group_vars/all. */
export class VarsFileReader {
  private readonly cache = new Map<string, Map<string, VarDef>>();
  constructor(private readonly issues: IssueList) {}

  read(file: string): Map<string, VarDef> {
    const hit = this.cache.get(file);
    if (hit) return hit;
    const out = new Map<string, VarDef>();
    this.cache.set(file, out);
    let root;
    try {
      root = parseYamlFile(readFileSync(file, 'utf8'), file);
    } catch (e) {
      if (e instanceof YamlSyntaxError) { this.issues.add('', e.message, e.pos); return out; }
      throw e;
    }
    if (!root || (root.kind === 'scalar' && (root.value === null || root.value === ''))) return out;
    if (root.kind !== 'map') {
      this.issues.add('', `a vars file must hold a mapping of variable names to values; found a ${root.kind === 'seq' ? 'list' : 'scalar'}`, root.pos);
      return out;
    }
    for (const e of root.entries) {
      if (typeof e.key !== 'string') { this.issues.add(String(e.key), 'variable names must be strings', e.keyPos); continue; }
      out.set(e.key, { value: toValue(e.value), pos: e.keyPos, from: file });
    }
    return out;
  }

  /** The merged vars of `name` from every source base, in source order (later wins). */
  varsFor(bases: (string | undefined)[], sub: 'group_vars' | 'host_vars', name: string): Map<string, VarDef> {
    const out = new Map<string, VarDef>();
    for (const base of bases) {
      if (!base) continue;
      for (const f of varsFilesFor(base, sub, name)) for (const [k, v] of this.read(f)) out.set(k, v);
    }
    return out;
  }
}
