import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderText } from '../../../src/cli/render.js';

test('render: a cni host shows the conflist and the plugin link, no Docker drop-in; a Docker host the drop-in and no conflist', () => {
  const d = mkdtempSync(join(tmpdir(), 'fpn-render-'));
  try {
    const inv = join(d, 'inventory.yml');
    writeFileSync(inv, `all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: "http://198.18.1.10:2379" }
  hosts:
    d1: { ansible_host: 198.18.1.11 }
    p1: { ansible_host: 198.18.1.12, flannel_runtime: cni, flannel_cni_network: pods }
`);
    const out = renderText({ inventory: [inv] });
    const sections = out.split('\n### ').map((s) => s.split('\n')[0]!);
    assert.ok(sections.includes('d1: /etc/systemd/system/docker.service.d/10-flannel.conf (mode 0644; dockerd\'s command line is Debian\'s default here, `up` uses the host\'s own; only if docker.service exists: flannel_docker is auto)'), sections.join('\n'));
    assert.ok(!sections.some((s) => s.startsWith('d1: /etc/cni')));
    assert.ok(sections.includes('p1: /etc/cni/net.d/10-flannel.conflist (mode 0644)'));
    assert.ok(sections.includes('p1: /opt/cni/bin/flannel -> /usr/local/bin/flanneld (symlink: the agent binary is flannel\'s CNI plugin)'));
    assert.ok(!sections.some((s) => s.startsWith('p1: /etc/systemd/system/docker.service.d')));
    assert.match(out, /"name": "pods"/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
