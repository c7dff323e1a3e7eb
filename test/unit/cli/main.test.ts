import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { COMMANDS, buildProgram, invokedCommand } from '../../../src/cli/main.js';

test('every command: the usage --help lists without loading it is the one its definition yields', async () => {
  for (const entry of COMMANDS) {
    const c = new Command(entry.name);
    (await entry.load())(c);
    assert.equal(c.usage(), entry.usage, entry.name);
  }
});

test('buildProgram defines only the commands asked for; the others stay stubs with their description', async () => {
  const p = await buildProgram(['render']);
  const render = p.commands.find((c) => c.name() === 'render')!;
  const up = p.commands.find((c) => c.name() === 'up')!;
  assert.ok(render.options.some((o) => o.long === '--host'));
  assert.equal(up.options.length, 0);
  assert.equal(up.description(), COMMANDS.find((c) => c.name === 'up')!.description);
  const all = await buildProgram();
  assert.ok(all.commands.find((c) => c.name() === 'up')!.options.some((o) => o.long === '--raise-mtu'));
});

test('invokedCommand: the first operand, or the one after help; nothing for options and unknown names', () => {
  assert.equal(invokedCommand(['up', '-i', 'x.yml']), 'up');
  assert.equal(invokedCommand(['help', 'switch-backend']), 'switch-backend');
  assert.equal(invokedCommand(['lab', 'up', '--hosts', '3']), 'lab');
  assert.equal(invokedCommand(['--version']), undefined);
  assert.equal(invokedCommand(['-h', 'up']), undefined);
  assert.equal(invokedCommand(['help']), undefined);
  assert.equal(invokedCommand(['bogus']), undefined);
  assert.equal(invokedCommand([]), undefined);
});

const HEAVY = ['etcd3', 'ssh2', 'listr2', 'ajv', 'yaml', 'handlebars'];

/** The packages under node_modules that running the CLI with `args` loaded (from require.cache at exit). */
function packagesLoaded(args: string[]): Set<string> {
  const dir = mkdtempSync(join(tmpdir(), 'flanprov-main-test-'));
  try {
    const preload = join(dir, 'report.cjs');
    const out = join(dir, 'loaded.json');
    writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(Object.keys(require.cache))));\n`);
    const root = resolve(__dirname, '../../..');
    execFileSync(process.execPath, ['--import', 'tsx', '-r', preload, join(root, 'src/cli/main.ts'), ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    const files = JSON.parse(require('node:fs').readFileSync(out, 'utf8')) as string[];
    return new Set(files.flatMap((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1] ?? []));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('--version and --help load commander only; render loads no etcd client, no SSH, no listr2', () => {
  for (const args of [['--version'], ['--help']]) {
    const loaded = packagesLoaded(args);
    for (const p of HEAVY) assert.ok(!loaded.has(p), `${args.join(' ')} loaded ${p} (${[...loaded].join(', ')})`);
    assert.ok(loaded.has('commander'));
  }
  const render = packagesLoaded(['render', '-i', 'inventories/vxlan-3-nodes.yml']);
  for (const p of ['etcd3', 'ssh2', 'listr2', '@grpc/grpc-js']) assert.ok(!render.has(p), `render loaded ${p}`);
  assert.ok(render.has('handlebars'), 'the check sees what render does load');
});
