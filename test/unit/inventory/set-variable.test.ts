/**
 * Setting flannel_backend everywhere an inventory writes it, in place (switch-backend --update-inventory):
 * YAML and INI inventory files, group_vars/ and host_vars/ (files and directories); only the values change;
 * the edited inventory is read by flanprov and by ansible-inventory (the oracle) with the new value everywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planVariableEdit, VariableEditError, type FileEdit } from '../../../src/inventory/set-variable.js';
import { loadInventory } from '../../../src/inventory/load.js';
import { ansibleInventory } from './ansible-oracle.js';

const root = mkdtempSync(join(tmpdir(), 'flanprov-setvar-'));
let n = 0;
/** a fresh directory with these files */
function tree(files: Record<string, string>): string {
  const d = join(root, String(n++));
  for (const [f, text] of Object.entries(files)) { mkdirSync(join(d, f, '..'), { recursive: true }); writeFileSync(join(d, f), text); }
  return d;
}
const write = (edits: FileEdit[]): void => { for (const e of edits) writeFileSync(e.file, e.after); };
const plan = (sources: string[], value = 'host-gw') => planVariableEdit(sources, 'flannel_backend', value, 'vxlan');
const opts = { env: {}, home: '/home/u', localUser: 'u', systemSshConfig: null };
const NET = 'flannel_network: 10.244.0.0/16\nflannel_etcd_endpoints: http://e:2379\n';

const YAML = `# my cluster   (comments, odd spacing and quotes must survive)
all:
  vars:
    ansible_user: root
    flannel_network: 10.244.0.0/16
    flannel_backend:   vxlan    # changed by hand in 2024
    flannel_etcd_endpoints: "http://198.18.1.10:2379"
  children:
    nodes:
      vars: { flannel_backend: "vxlan" }
      hosts:
        h1: { ansible_host: 198.18.1.11 }
        h2: { ansible_host: 198.18.1.12, flannel_backend: 'vxlan' }
    other:
      vars:
        not_ours: { flannel_backend: vxlan }
`;

test('YAML: every place that sets it (all vars, group vars through children, host mappings), only the values; a variable inside another value is not one', () => {
  const d = tree({ 'inv.yml': YAML });
  const [e, ...more] = plan([join(d, 'inv.yml')]);
  assert.equal(more.length, 0);
  assert.equal(e!.after, YAML.replace('flannel_backend:   vxlan ', 'flannel_backend:   host-gw ').replace('flannel_backend: "vxlan"', 'flannel_backend: "host-gw"')
    .replace("flannel_backend: 'vxlan'", "flannel_backend: 'host-gw'"));
  assert.deepEqual(e!.changes, ['line 6', 'line 10', 'line 13']);
  write([e!]);
  assert.equal(loadInventory(join(d, 'inv.yml'), opts).network.backend, 'host-gw');
  const back = plan([join(d, 'inv.yml')], 'vxlan');
  write(back);
  assert.equal(readFileSync(join(d, 'inv.yml'), 'utf8'), YAML);
  assert.deepEqual(plan([join(d, 'inv.yml')], 'vxlan'), [], 'already right: nothing to do');
});

const INI = [
  '; kubespray-style inventory, CRLF line endings',
  '[nodes]',
  'h1 ansible_host=10.0.0.1',
  "h2 ansible_host=10.0.0.2 flannel_backend='vxlan'   # pinned",
  'h3 "flannel_backend=vxlan" ansible_host=10.0.0.3',
  '',
  '[nodes:vars]',
  'flannel_backend = vxlan   ',
  '',
  '[all:vars]',
  'flannel_network=10.244.0.0/16',
  'flannel_etcd_endpoints=http://e:2379',
  'flannel_backend="vxlan"',
  '',
].join('\r\n');

test('INI: [group:vars] lines and host-line words, quoting, trailing spaces, comments and CRLF kept; group_vars and host_vars (files and directories) too; ansible-inventory agrees', async () => {
  const d = tree({
    'hosts.ini': INI,
    'group_vars/all.yml': '# defaults\nflannel_backend: vxlan\n',
    'group_vars/nodes/flannel.yml': 'flannel_backend: vxlan  # from a directory\nother: 1\n',
    'host_vars/h1.yml': '---\nflannel_backend: vxlan\n',
    'host_vars/h9.yml': 'flannel_backend: vxlan\n', // no host h9: Ansible never reads it
  });
  const edits = plan([join(d, 'hosts.ini')]);
  const by = Object.fromEntries(edits.map((e) => [e.file.slice(d.length + 1), e]));
  assert.deepEqual(Object.keys(by).sort(), ['group_vars/all.yml', 'group_vars/nodes/flannel.yml', 'host_vars/h1.yml', 'hosts.ini']);
  assert.equal(by['hosts.ini']!.after, INI.replace("flannel_backend='vxlan'", "flannel_backend='host-gw'").replace('"flannel_backend=vxlan"', '"flannel_backend=host-gw"')
    .replace('flannel_backend = vxlan   ', 'flannel_backend = host-gw   ').replace('flannel_backend="vxlan"', 'flannel_backend="host-gw"'));
  assert.deepEqual(by['hosts.ini']!.changes, ['line 4', 'line 5', 'line 8', 'line 13']);
  assert.equal(by['group_vars/nodes/flannel.yml']!.after, 'flannel_backend: host-gw  # from a directory\nother: 1\n');
  write(edits);
  assert.equal(readFileSync(join(d, 'host_vars/h9.yml'), 'utf8'), 'flannel_backend: vxlan\n');
  assert.equal(loadInventory(join(d, 'hosts.ini'), opts).network.backend, 'host-gw');
  const o = await ansibleInventory([join(d, 'hosts.ini')]);
  for (const h of ['h1', 'h2', 'h3']) assert.equal(o.hosts.get(h)!.vars.flannel_backend, 'host-gw', h);
});

test('written nowhere: added to the first source\'s all vars (YAML all: vars:, INI [all:vars] or a new section); nothing for the default', () => {
  const y = tree({ 'inv.yml': `# c\nall:\n  vars:\n    ${NET.trim().split('\n').join('\n    ')}\n  hosts:\n    n1:\n` });
  const [ye] = plan([join(y, 'inv.yml')]);
  assert.deepEqual(ye!.changes, ['added to all: vars:']);
  assert.equal(ye!.after, ye!.before.replace('  vars:\n', '  vars:\n    flannel_backend: host-gw\n'));
  const noVars = tree({ 'inv.yml': 'all:\n  hosts:\n    n1:\n' });
  assert.equal(plan([join(noVars, 'inv.yml')])[0]!.after, 'all:\n  vars:\n    flannel_backend: host-gw\n  hosts:\n    n1:\n');
  const withSection = tree({ 'hosts.ini': '[nodes]\nn1\n\n[all:vars]\nflannel_network=10.244.0.0/16\n# end\n\n[other]\n' });
  assert.equal(plan([join(withSection, 'hosts.ini')])[0]!.after, '[nodes]\nn1\n\n[all:vars]\nflannel_network=10.244.0.0/16\nflannel_backend=host-gw\n# end\n\n[other]\n');
  const without = tree({ 'hosts.ini': '[nodes]\nn1' });
  const [we] = plan([join(without, 'hosts.ini')]);
  assert.equal(we!.after, '[nodes]\nn1\n\n[all:vars]\nflannel_backend=host-gw\n');
  assert.deepEqual(we!.changes, ['added to a new [all:vars] section']);
  assert.deepEqual(plan([join(without, 'hosts.ini')], 'vxlan'), []);
});

test('refused, naming file:line:col: a template, a list, a YAML alias; an inventory directory with no file to add to', () => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ 'inv.yml': 'all:\n  vars:\n    b: host-gw\n    flannel_backend: "{{ b }}"\n' }, 'inv.yml', /inv\.yml:4:22: flannel_backend: is a template \("\{\{ b \}\}"\): the variable it names decides: set it to host-gw by hand/],
    [{ 'hosts.ini': '[all:vars]\nflannel_backend = {{ b }}\n' }, 'hosts.ini', /hosts\.ini:2:1: flannel_backend: is a template/],
    [{ 'hosts.ini': "[nodes]\nn1 flannel_backend=\"['vxlan']\"\n" }, 'hosts.ini', /hosts\.ini:2:4: flannel_backend: is not a plain string \(a list\)/],
    [{ 'inv.yml': 'all:\n  vars:\n    b: &b vxlan\n    flannel_backend: *b\n' }, 'inv.yml', /inv\.yml:4:22: flannel_backend: is a YAML alias/],
    [{ 'inv/hosts.yml': 'all:\n  hosts:\n    n1:\n' }, 'inv', /written nowhere in the inventory and .*inv is not a file to add it to: add flannel_backend: host-gw to group_vars\/all\.yml/],
  ];
  for (const [files, src, re] of cases) {
    const d = tree(files);
    assert.throws(() => plan([join(d, src)]), (e: unknown) => e instanceof VariableEditError && re.test(e.message), `${src}: ${re}`);
  }
});
