import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostFiles } from '../../../../src/phases/up/install-units.js';
import { renderHostFiles } from '../../../../src/inventory/host-files.js';
import { makeHostStates } from '../../../../src/phases/framework/runner.js';
import { cluster, facts, hostSpec } from '../shared/fixtures.js';

const OWN = '# /lib/systemd/system/docker.service\n[Service]\nExecStart=/usr/bin/dockerd -H fd:// --iptables=true\n';

test('up renders from templates/ with the host\'s own dockerd command line; NotifyAccess=all', () => {
  const [h] = makeHostStates(cluster([hostSpec('h1')]));
  h!.facts.gathered = facts('h1', { ip: '198.18.1.11', dockerUnit: OWN });
  const files = hostFiles(h!);
  assert.deepEqual(files.map((f) => f.role), ['agent-unit', 'docker-dropin']);
  assert.match(files[0]!.content, /^Type=notify\nNotifyAccess=all$/m);
  assert.match(files[1]!.content, /^ExecStart=\/usr\/bin\/dockerd -H fd:\/\/ --iptables=true --bip=\$\{FLANNEL_SUBNET\} --mtu=\$\{FLANNEL_MTU\} --ip-masq=false$/m);
});

test('no drop-in where flanprov does not manage Docker; render prints what up writes on a Debian host', () => {
  const [off, deb] = makeHostStates(cluster([hostSpec('h1', { docker: false }), hostSpec('h2')]));
  off!.facts.gathered = facts('h1', { ip: '198.18.1.11' });
  assert.deepEqual(hostFiles(off!).map((f) => f.role), ['agent-unit']);
  // The fixture's docker.service is Debian 12's: `flanprov render` (no SSH) must print the same bytes.
  deb!.facts.gathered = facts('h2', { ip: '198.18.1.12' });
  assert.deepEqual(hostFiles(deb!), renderHostFiles({ host: deb!.spec, docker: true }));
});
