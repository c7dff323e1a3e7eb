/**
 * Inventory sources as Ansible's InventoryManager reads them (`-i` may be given several times; they merge
 * in order into one inventory):
 * - a directory: its entries in sorted order, recursively, skipping hidden names, group_vars, host_vars,
 *   vars_plugins and the ignored extensions (.ini .cfg .retry .orig .md .txt .rst .bak .swp .pyc .pyo .rpm ~);
 * - a file: Ansible's plugins in their default order: YAML when the extension is none/.yml/.yaml/.json and
 *   the content is a YAML mapping, else INI. Dynamic sources (executable scripts, `plugin:` configs, .toml)
 *   are refused by name;
 * - a string with a comma that is not a path: a host list (`-i 'a,b:2222,'`), hosts in `ungrouped`.
 */
import { accessSync, constants as fsc, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { InvalidInputError } from '../util/errors.js';
import { IssueList } from './errors.js';
import { parseAddress } from './host-pattern.js';
import { readIniInventory } from './ini-source.js';
import { Inventory } from './model.js';
import { byBytes } from './vars-files.js';
import { parseYamlFile, YamlSyntaxError } from './yaml-values.js';
import { readYamlInventory } from './yaml-source.js';

const IGNORED = /^\.|^host_vars$|^group_vars$|^vars_plugins$|(?:\.pyc|\.pyo|\.swp|\.bak|~|\.rpm|\.md|\.txt|\.rst|\.orig|\.ini|\.cfg|\.retry)$/;
const YAML_EXTS = ['.yml', '.yaml', '.json'];

/** Read every source into one inventory (reconciled). Throws InventoryError / InvalidInputError (exit 2). */
export function readSources(sources: string[]): Inventory {
  const inv = new Inventory();
  const issues = new IssueList();
  let parsed = 0;
  for (const src of sources) {
    const isHostList = src.includes(',') && !existsSync(src);
    const path = isHostList ? src : resolve(src);
    inv.sources.push(path);
    if (isHostList) { readHostList(src, inv); parsed++; continue; }
    if (!existsSync(path)) {
      throw new InvalidInputError(`cannot read the inventory: no such file or directory`, src, 'pass -i FILE (default ./inventory.yml); see inventories/ for examples');
    }
    parsed += readPath(path, inv, issues);
  }
  issues.throwIfAny();
  if (!parsed) throw new InvalidInputError('no inventory file was found in the inventory directory', sources.join(', '));
  inv.reconcile();
  return inv;
}

function readPath(path: string, inv: Inventory, issues: IssueList): number {
  const files = sourceFiles(path);
  for (const f of files) readFile(f, inv, issues);
  return files.length;
}

/** The inventory files a source path stands for: the file itself, or a directory's entries (sorted, recursively, ignored names skipped). */
export function sourceFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).sort(byBytes).filter((name) => !IGNORED.test(name)).flatMap((name) => sourceFiles(join(path, name)));
}

/** How Ansible's plugins read an inventory file that loaded: as YAML (extension none/.yml/.yaml/.json and a non-empty mapping), else as INI. */
export function sourceFormat(path: string, text: string): 'yaml' | 'ini' {
  const ext = extname(path);
  if (ext && !YAML_EXTS.includes(ext)) return 'ini';
  try {
    const root = parseYamlFile(text, path);
    return root && root.kind === 'map' && root.entries.length ? 'yaml' : 'ini';
  } catch (e) {
    if (e instanceof YamlSyntaxError) return 'ini';
    throw e;
  }
}

function readFile(path: string, inv: Inventory, issues: IssueList): void {
  const where = { file: path, line: 1, col: 1 };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    issues.add('', `cannot read the inventory: ${(e as Error).message}`, where);
    return;
  }
  if (text.startsWith('#!') && isExecutable(path)) {
    issues.add('', 'dynamic inventory scripts are not supported: run the script, save its output ("ansible-inventory -i SCRIPT --list --yaml > inventory.yml") and use that file', where);
    return;
  }
  const ext = extname(path);
  if (ext === '.toml') {
    issues.add('', 'TOML inventories are not supported: convert it with "ansible-inventory -i FILE --list --yaml"', where);
    return;
  }
  if (!ext || YAML_EXTS.includes(ext)) {
    let root;
    let yamlError: YamlSyntaxError | undefined;
    try {
      root = parseYamlFile(text, path);
    } catch (e) {
      if (!(e instanceof YamlSyntaxError)) throw e;
      yamlError = e;
    }
    // Ansible's yaml plugin takes a non-empty mapping; anything else falls through to the ini plugin.
    if (root && root.kind === 'map' && root.entries.length) {
      readYamlInventory(root, inv, issues);
      return;
    }
    if (yamlError && ext && ext !== '.json' && looksLikeYaml(text)) {
      issues.add('', yamlError.message, yamlError.pos);
      return;
    }
  }
  readIniInventory(text, path, inv, issues);
}

/** A .yml file that is not INI either: report the YAML error rather than INI noise. */
function looksLikeYaml(text: string): boolean {
  return !/^\s*\[[^\]]+\]\s*$/m.test(text);
}

function isExecutable(path: string): boolean {
  try { accessSync(path, fsc.X_OK); return true; } catch { return false; }
}

function readHostList(list: string, inv: Inventory): void {
  const where = { file: '-i', line: 1, col: 1 };
  for (const raw of list.split(',')) {
    const h = raw.trim();
    if (!h) continue;
    const a = parseAddress(h);
    const host = a && !a.host.includes('[') ? a.host : h;
    if (!inv.hosts.has(host)) inv.addHost(host, where, 'ungrouped', a && !a.host.includes('[') ? a.port : undefined);
  }
}
