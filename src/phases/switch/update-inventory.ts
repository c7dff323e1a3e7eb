/**
 * switch-backend --update-inventory: once the cluster is on the new backend, set `flannel_backend` in the
 * inventory so a following `flanprov up` agrees with etcd — in every place it is written (YAML and INI
 * inventory files, group_vars/ and host_vars/), only the value's text changed (inventory/set-variable.ts), or
 * added to the first source's `all` vars when it is written nowhere. `Check inventory edit` plans the edit
 * before anything is switched, so an inventory that cannot be edited (a templated value, ...) is refused
 * (exit 2, naming file:line:col) while nothing has changed; the edit itself comes after the switch.
 */
import { renameSync, statSync, writeFileSync } from 'node:fs';
import type { Phase, PhaseContext } from '../framework/types.js';
import { BACKEND_TYPES } from '../../network/backends.js';
import { planVariableEdit, VariableEditError, type FileEdit } from '../../inventory/set-variable.js';
import { switchRun } from './state.js';

const VAR = 'flannel_backend';

function plan(ctx: PhaseContext): FileEdit[] {
  const sources = ctx.cluster.inventorySources ?? [ctx.cluster.inventoryFile];
  return planVariableEdit(sources, VAR, switchRun(ctx).opts.target, BACKEND_TYPES[0]);
}

const describe = (edits: FileEdit[]): string => edits.map((e) => `${e.file} (${e.changes.join(', ')})`).join('; ');

/** Write a file by temporary name + rename, keeping its mode. */
function writeKeepingMode(file: string, text: string): void {
  const tmp = `${file}.flanprov-tmp`;
  writeFileSync(tmp, text, { mode: statSync(file).mode & 0o777 });
  renameSync(tmp, file);
}

export const checkInventoryEditPhase: Phase = {
  title: 'Check inventory edit',
  readOnly: true,
  shouldRun: (ctx) => switchRun(ctx).opts.updateInventory,
  async run(ctx) {
    const edits = plan(ctx);
    ctx.log('debug', edits.length ? `--update-inventory will edit ${describe(edits)}` : `the inventory already says ${VAR}: ${switchRun(ctx).opts.target}`);
  },
};

export const updateInventoryPhase: Phase = {
  title: 'Update inventory',
  shouldRun: (ctx) => {
    const run = switchRun(ctx);
    return run.opts.updateInventory && (run.outcome === 'switched' || run.kind === 'noop');
  },
  async dryRun(ctx) {
    const edits = plan(ctx);
    ctx.log('info', edits.length ? `would set ${VAR}: ${switchRun(ctx).opts.target} in ${describe(edits)}` : `the inventory already says ${VAR}: ${switchRun(ctx).opts.target}`);
  },
  async run(ctx) {
    const target = switchRun(ctx).opts.target;
    const edits = plan(ctx);
    if (!edits.length) {
      ctx.log('info', `the inventory already says ${VAR}: ${target}`);
      return;
    }
    const written: FileEdit[] = [];
    try {
      for (const e of edits) { writeKeepingMode(e.file, e.after); written.push(e); }
      // every place now says the target: nothing is left to edit
      const left = plan(ctx);
      if (left.length) throw new VariableEditError(`after the edit ${describe(left)} still need changing`, left[0]!.file);
    } catch (e) {
      for (const w of written.reverse()) writeKeepingMode(w.file, w.before);
      const why = e instanceof Error ? e.message : String(e);
      throw new VariableEditError(`the cluster is on ${target}, but the inventory was not changed: ${why}`, edits[0]!.file,
        `set ${VAR}: ${target} by hand so that \`flanprov up\` agrees with etcd`);
    }
    ctx.log('info', `${VAR} set to ${target} in ${describe(edits)}`);
  },
};
