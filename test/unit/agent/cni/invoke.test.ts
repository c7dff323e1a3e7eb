import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callDelegate, processRunner, searchDirs } from '../../../../src/agent/cni/invoke.js';
import { CniError } from '../../../../src/agent/cni/spec.js';

test('delegates are searched in CNI_PATH, then /opt/cni/bin and Debian\'s /usr/lib/cni, each once', () => {
  assert.deepEqual(searchDirs(['/opt/cni/bin']), ['/opt/cni/bin', '/usr/lib/cni']);
  assert.deepEqual(searchDirs(['/x', '/usr/lib/cni']), ['/x', '/usr/lib/cni', '/opt/cni/bin']);
});

test('a real delegate process: found by type (an executable file, first directory wins), the config on its stdin, CNI_COMMAND and the extended CNI_PATH in its environment', () => {
  const d = mkdtempSync(join(tmpdir(), 'fpn-cni-'));
  try {
    mkdirSync(join(d, 'a'));
    mkdirSync(join(d, 'b'));
    writeFileSync(join(d, 'a', 'echo'), 'not executable');
    const script = `#!/bin/sh\nin=$(cat)\nprintf '{"cniVersion":"1.0.0","dns":{"domain":"%s %s %s"}}' "$CNI_COMMAND" "$CNI_PATH" "$in"\n`;
    writeFileSync(join(d, 'b', 'echo'), script);
    chmodSync(join(d, 'b', 'echo'), 0o755);
    mkdirSync(join(d, 'a', 'dir'));
    assert.equal(processRunner.find('dir', [join(d, 'a')]), undefined);
    assert.equal(processRunner.find('../b/echo', [join(d, 'a')]), undefined);
    assert.equal(processRunner.find('echo', [join(d, 'a'), join(d, 'b')]), join(d, 'b', 'echo'));
    const out = callDelegate(processRunner, { command: 'ADD', type: 'echo', config: 'X', env: { PATH: process.env.PATH }, cniPath: [join(d, 'a'), join(d, 'b')] });
    assert.equal(JSON.parse(out).dns.domain, `ADD ${join(d, 'a')}:${join(d, 'b')}:/opt/cni/bin:/usr/lib/cni X`);
    writeFileSync(join(d, 'b', 'fail'), '#!/bin/sh\necho \'{"code":7,"msg":"bad","details":"why"}\'\nexit 1\n');
    chmodSync(join(d, 'b', 'fail'), 0o755);
    assert.throws(() => callDelegate(processRunner, { command: 'DEL', type: 'fail', config: '{}', env: {}, cniPath: [join(d, 'b')] }),
      (e: unknown) => e instanceof CniError && e.code === 7 && e.msg === 'delegate fail (DEL): bad' && e.details === 'why');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
