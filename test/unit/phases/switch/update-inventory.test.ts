import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkInventoryEditPhase, updateInventoryPhase } from '../../../../src/phases/switch/update-inventory.js';
import { VariableEditError } from '../../../../src/inventory/set-variable.js';
import { ExitCode } from '../../../../src/util/errors.js';
import type { PhaseContext } from '../../../../src/phases/framework/types.js';

function ctxFor(sources: string[], logs: string[]): PhaseContext {
  return {
    cluster: { inventoryFile: sources[0], inventorySources: sources },
    state: { switch: { opts: { target: 'host-gw', updateInventory: true }, outcome: 'switched', notFollowed: [], mtuKept: [] } },
    log: (_level: string, m: string) => logs.push(m),
  } as unknown as PhaseContext;
}

// (in [x:vars] the rest of the line is the value, so a comment has a line of its own)
const INI = '[nodes]\nn1 ansible_host=10.0.0.1\n\n[all:vars]\nflannel_network=10.244.0.0/16\n# set by hand\nflannel_backend = vxlan\n';

test('an INI inventory with group_vars: every place edited, the log names each file and line', async () => {
  const d = mkdtempSync(join(tmpdir(), 'fp-updinv-'));
  writeFileSync(join(d, 'hosts.ini'), INI);
  mkdirSync(join(d, 'group_vars'));
  writeFileSync(join(d, 'group_vars', 'nodes.yml'), 'flannel_backend: vxlan\n');
  const logs: string[] = [];
  const ctx = ctxFor([join(d, 'hosts.ini')], logs);
  await checkInventoryEditPhase.run(ctx);
  await updateInventoryPhase.run(ctx);
  assert.equal(readFileSync(join(d, 'hosts.ini'), 'utf8'), INI.replace('flannel_backend = vxlan', 'flannel_backend = host-gw'));
  assert.equal(readFileSync(join(d, 'group_vars', 'nodes.yml'), 'utf8'), 'flannel_backend: host-gw\n');
  assert.match(logs.at(-1)!, /flannel_backend set to host-gw in .*group_vars\/nodes\.yml \(line 1\); .*hosts\.ini \(line 7\)|hosts\.ini \(line 7\); .*nodes\.yml \(line 1\)/);
  await updateInventoryPhase.run(ctx);
  assert.match(logs.at(-1)!, /already says flannel_backend: host-gw/);
});

test('a templated value is refused by the check (before the switch), exit 2 naming file:line:col', async () => {
  const d = mkdtempSync(join(tmpdir(), 'fp-updinv-'));
  writeFileSync(join(d, 'hosts.ini'), '[nodes]\nn1\n\n[all:vars]\nflannel_backend={{ my_backend }}\n');
  await assert.rejects(checkInventoryEditPhase.run(ctxFor([join(d, 'hosts.ini')], [])), (e: unknown) =>
    e instanceof VariableEditError && e.exitCode === ExitCode.INVALID_INPUT && /hosts\.ini:5:1: flannel_backend: is a template/.test(e.message));
});

test('a write that fails puts back every file already written, and says the cluster is switched', async () => {
  const d = mkdtempSync(join(tmpdir(), 'fp-updinv-'));
  writeFileSync(join(d, 'hosts.ini'), INI);
  mkdirSync(join(d, 'group_vars'));
  writeFileSync(join(d, 'group_vars', 'nodes.yml'), 'flannel_backend: vxlan\n');
  mkdirSync(join(d, 'hosts.ini.flanprov-tmp')); // the temporary name is taken: this file's write fails
  await assert.rejects(updateInventoryPhase.run(ctxFor([join(d, 'hosts.ini')], [])), /the cluster is on host-gw, but the inventory was not changed/);
  assert.equal(readFileSync(join(d, 'hosts.ini'), 'utf8'), INI);
  assert.equal(readFileSync(join(d, 'group_vars', 'nodes.yml'), 'utf8'), 'flannel_backend: vxlan\n');
});
