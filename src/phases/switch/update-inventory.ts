/**
 * switch-backend — Update inventory (--update-inventory): once the cluster is on the new backend, set
 * `flannel_backend` in the inventory file so a following `flanprov up` agrees with etcd. Every place the
 * variable is written (all:vars, a group's or a host's vars) gets the new value; the file is otherwise
 * left byte for byte as it was: the yaml Document API finds each value's source range and only that text
 * is replaced (quotes kept). Where the variable is not written at all, it is added to `all: vars:`.
 */
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { isMap, isPair, isScalar, parseDocument, visit, type Scalar } from 'yaml';
import type { Phase } from '../framework/types.js';
import { InvalidInputError } from '../../util/errors.js';
import { switchRun } from './state.js';

export interface InventoryEdit {
  text: string;
  /** line numbers (1-based) changed, or "added to all.vars" */
  changes: string[];
}

function lineOf(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** The inventory text with every `flannel_backend` set to `backend` (pure). */
export function setInventoryBackend(text: string, file: string, backend: string): InventoryEdit {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length) throw new InvalidInputError(`cannot edit the inventory: ${doc.errors[0]!.message}`, file);
  const spots: { start: number; end: number; quote: string }[] = [];
  let nonScalar = false;
  let foundAny = false;
  visit(doc, {
    Pair(_k, pair) {
      if (!isPair(pair) || !isScalar(pair.key) || pair.key.value !== 'flannel_backend') return;
      foundAny = true;
      const v = pair.value;
      if (!isScalar(v) || !v.range) {
        nonScalar = true;
        return;
      }
      const s = v as Scalar;
      if (s.value === backend) return;
      const quote = s.type === 'QUOTE_DOUBLE' ? '"' : s.type === 'QUOTE_SINGLE' ? "'" : '';
      spots.push({ start: s.range![0], end: s.range![1], quote });
    },
  });
  if (nonScalar) throw new InvalidInputError('flannel_backend is not a plain value (a template or a structure?): edit it by hand', file);
  if (foundAny) {
    let out = text;
    const changes: string[] = [];
    for (const s of [...spots].sort((a, b) => b.start - a.start)) {
      out = out.slice(0, s.start) + s.quote + backend + s.quote + out.slice(s.end);
      changes.push(`line ${lineOf(text, s.start)}`);
    }
    return { text: out, changes: changes.reverse() };
  }
  // Not written anywhere: add it where cluster-wide vars live.
  const all = doc.get('all');
  if (!isMap(all)) throw new InvalidInputError('the inventory has no `all:` mapping to add flannel_backend to', file);
  if (!all.has('vars')) all.set('vars', doc.createNode({}));
  const vars = all.get('vars');
  if (!isMap(vars)) throw new InvalidInputError('`all: vars:` is not a mapping', file);
  vars.set('flannel_backend', backend);
  return { text: doc.toString(), changes: ['added to all: vars:'] };
}

export const updateInventoryPhase: Phase = {
  title: 'Update inventory',
  shouldRun: (ctx) => {
    const run = switchRun(ctx);
    return run.opts.updateInventory && (run.outcome === 'switched' || run.kind === 'noop');
  },
  async dryRun(ctx) {
    const run = switchRun(ctx);
    ctx.log('info', `would set flannel_backend: ${run.opts.target} in ${ctx.cluster.inventoryFile}`);
  },
  async run(ctx) {
    const file = ctx.cluster.inventoryFile;
    const run = switchRun(ctx);
    const text = readFileSync(file, 'utf8');
    const edit = setInventoryBackend(text, file, run.opts.target);
    if (edit.text === text) {
      ctx.log('info', `${file} already says flannel_backend: ${run.opts.target}`);
      return;
    }
    const tmp = `${file}.flanprov-tmp`;
    writeFileSync(tmp, edit.text, { mode: statSync(file).mode & 0o777 });
    renameSync(tmp, file);
    ctx.log('info', `${file}: flannel_backend set to ${run.opts.target} (${edit.changes.join(', ')})`);
  },
};
