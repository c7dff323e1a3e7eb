/**
 * The layers of src/ (docs/CONVENTIONS.md): a module may import only from its own layer's folder or the
 * layers below it. cli -> phases -> measure/lab -> remote/inventory -> etcd -> network -> util; the agent
 * uses etcd/network/util only, so the CLI and the agent share exactly network/ and etcd/. Inside phases/:
 * framework <- shared <- up/switch/down, and the commands' phase folders do not borrow from each other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

const SRC = join(__dirname, '..', '..', 'src');

const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  network: ['util'],
  etcd: ['network', 'util'],
  inventory: ['etcd', 'network', 'util'],
  // remote reads the connection settings the inventory resolved (its types)
  remote: ['inventory', 'network', 'util'],
  measure: ['remote', 'network', 'util'],
  lab: ['remote', 'network', 'util'],
  phases: ['measure', 'remote', 'inventory', 'etcd', 'network', 'util'],
  cli: ['phases', 'lab', 'measure', 'remote', 'inventory', 'etcd', 'network', 'util'],
  agent: ['etcd', 'network', 'util'],
};

/** phases/<part>: which other parts it may import. */
const PHASE_PARTS: Record<string, readonly string[]> = {
  framework: [],
  shared: ['framework'],
  up: ['framework', 'shared'],
  switch: ['framework', 'shared'],
  down: ['framework', 'shared'],
  // a managed etcd's phases, used by up, status, check and down (wired in cli/)
  etcd: ['framework', 'shared'],
  // adopt --write-inventory: describes a hand-built cluster (read-only on the hosts)
  adopt: ['framework', 'shared'],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative import specifiers of a file: static (`from '...'`, `import '...'`) and dynamic (`import('...')`). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

function layerOf(file: string): { layer: string; part?: string } | undefined {
  const rel = relative(SRC, file);
  if (rel.startsWith('..')) return undefined; // package.json and the like
  const [layer, part] = rel.split(sep);
  return layer === 'phases' ? { layer, part: part! } : { layer: layer! };
}

test('the import parser sees static, side-effect and dynamic imports', () => {
  assert.deepEqual(importsOf(`import { a } from './a.js';\nimport type { B } from "../b/b.js";\nimport './c.js';\nconst d = await import('../d.js');\nimport x from 'yaml';`),
    ['./a.js', '../b/b.js', './c.js', '../d.js']);
});

test('every module imports only from its own layer or the layers below it', () => {
  const files = sources(SRC);
  assert.ok(files.length > 50, `found ${files.length} sources under ${SRC}`);
  const violations: string[] = [];
  for (const file of files) {
    const from = layerOf(file)!;
    assert.ok(from.layer in ALLOWED, `${relative(SRC, file)}: folder "${from.layer}" has no place in the layer table (add it to ALLOWED)`);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const to = layerOf(normalize(join(dirname(file), spec)));
      if (!to || to.layer === from.layer && (from.layer !== 'phases' || to.part === from.part)) continue;
      const where = `${relative(SRC, file)} imports ${spec}`;
      if (to.layer !== from.layer) {
        if (!ALLOWED[from.layer]!.includes(to.layer)) violations.push(`${where}: ${from.layer} may not import ${to.layer}`);
      } else if (!(PHASE_PARTS[from.part!] ?? []).includes(to.part!)) {
        violations.push(`${where}: phases/${from.part} may not import phases/${to.part}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});
