/**
 * The differential test: every inventory of test/fixtures/inventories/ goes through flanprov's reader and
 * through the real `ansible-inventory --list`; hosts, each host's groups, the agent group and every
 * variable of every host must be equal. A case is a file (the source), or a directory with `sources.txt`
 * (the -i arguments, one a line, relative to it), or a directory without one (an inventory directory).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readSources } from '../../../src/inventory/sources.js';
import { mergedHostVars } from '../../../src/inventory/merge.js';
import { VarsFileReader } from '../../../src/inventory/vars-files.js';
import { IssueList } from '../../../src/inventory/errors.js';
import { agentHostNames } from '../../../src/inventory/load.js';
import { findUnsupported } from '../../../src/inventory/yaml-values.js';
import { ansibleInventoryCli, ansibleInventoryRuns, canonical, oracleResult } from './ansible-oracle.js';

const DIR = join(__dirname, '../../fixtures/inventories');

interface Case { name: string; sources: string[] }

function cases(): Case[] {
  const out: Case[] = [];
  for (const name of readdirSync(DIR).sort()) {
    if (name === 'refused' || name.startsWith('.')) continue;
    const p = join(DIR, name);
    if (statSync(p).isDirectory() && existsSync(join(p, 'sources.txt'))) {
      const lines = readFileSync(join(p, 'sources.txt'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
      out.push({ name, sources: lines.map((l) => (l.includes(',') ? l : join(p, l))) });
    } else {
      out.push({ name, sources: [p] });
    }
  }
  return out;
}

interface Ours { hosts: Map<string, { groups: string[]; vars: Record<string, unknown> }>; agents: string[]; skipped: string[]; emptyNodes: boolean }

function ours(sources: string[]): Ours {
  const inv = readSources(sources);
  const issues = new IssueList();
  const reader = new VarsFileReader(issues);
  const hosts = new Map<string, { groups: string[]; vars: Record<string, unknown> }>();
  const skipped: string[] = [];
  for (const h of inv.hosts.keys()) {
    const vars: Record<string, unknown> = {};
    for (const [k, d] of mergedHostVars(inv, h, reader)) {
      if (findUnsupported(d.value)) { skipped.push(`${h}.${k}`); continue; }
      vars[k] = d.value;
    }
    hosts.set(h, { groups: inv.hostGroups(h).map((g) => g.name).filter((g) => g !== 'all').sort(), vars: canonical(vars) as Record<string, unknown> });
  }
  issues.throwIfAny();
  return { hosts, agents: agentHostNames(inv), skipped, emptyNodes: inv.groups.has('nodes') && inv.groupHosts('nodes').length === 0 };
}

const all = cases();

test(`the corpus has at least 60 inventories (${all.length})`, () => {
  assert.ok(all.length >= 60, `only ${all.length} cases in ${DIR}`);
});

test('flanprov reads every corpus inventory exactly as ansible-inventory does', async (t) => {
  const runs = await ansibleInventoryRuns(all.map((c) => c.sources));
  for (const [i, c] of all.entries()) {
    await t.test(c.name, () => {
      const want = oracleResult(c.sources, runs[i]!);
      const us = ours(c.sources);
      assert.deepEqual([...us.hosts.keys()].sort(), [...want.hosts.keys()].sort(), 'hosts');
      for (const [h, w] of want.hosts) {
        const u = us.hosts.get(h)!;
        assert.deepEqual(u.groups, w.groups, `groups of ${h}`);
        const wv = { ...w.vars };
        for (const s of us.skipped) if (s.startsWith(`${h}.`)) delete wv[s.slice(h.length + 1)];
        assert.deepEqual(u.vars, wv, `variables of ${h}`);
      }
      // ansible-inventory leaves empty groups out of its output: an empty `nodes` group (which flanprov refuses) looks absent
      const wantAgents = want.groups.has('nodes') ? want.groups.get('nodes')! : us.emptyNodes ? [] : [...want.hosts.keys()];
      assert.deepEqual([...us.agents].sort(), [...wantAgents].sort(), 'agent hosts (group nodes, else all)');
    });
  }
});

test('the batch oracle prints exactly what the ansible-inventory command prints (a YAML, an INI and a group_vars case)', async () => {
  const picked = ['i01-basic.ini', 'y26-floats.yml', 'd01-group-host-vars'].map((n) => all.find((c) => c.name === n)!);
  const batch = await ansibleInventoryRuns(picked.map((c) => c.sources));
  for (const [i, c] of picked.entries()) {
    const cli = await ansibleInventoryCli(c.sources);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(batch[i], { ...cli, stderr: batch[i]!.stderr }, c.name);
  }
});
