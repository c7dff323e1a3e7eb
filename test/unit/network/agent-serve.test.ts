import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_AGENT_SERVE_PORT, SERVE_FILE_COMMAND, parseServeFileArgv, serveFileArgv, type ServeFileArgs } from '../../../src/network/agent-serve.js';

test('serve-file: what the CLI renders is what the agent parses', () => {
  const a: ServeFileArgs = {
    listen: '198.18.0.11', port: DEFAULT_AGENT_SERVE_PORT,
    files: { '/agent': '/usr/local/bin/flanneld', '/agent.xz': '/run/flanprov/agent-serve/flanneld.xz' },
    allow: ['198.18.0.12', '198.18.0.13'], idleTimeoutS: 45, removeOnExit: ['/run/flanprov/agent-serve/flanneld.xz'],
  };
  const argv = serveFileArgv(a);
  assert.equal(argv[0], SERVE_FILE_COMMAND);
  assert.deepEqual(parseServeFileArgv(argv.slice(1)), a);
  assert.deepEqual(parseServeFileArgv(serveFileArgv({ ...a, allow: [], removeOnExit: [] }).slice(1)), { ...a, allow: [], removeOnExit: [] });
});

test('serve-file: bad arguments are named', () => {
  const ok = ['--listen=10.0.0.1:8473', '--file=/agent=/x'];
  assert.throws(() => parseServeFileArgv(['--file=/agent=/x']), /--listen=IP:PORT is required/);
  assert.throws(() => parseServeFileArgv(['--listen=10.0.0.1:8473']), /at least one --file/);
  assert.throws(() => parseServeFileArgv(['--listen=host:80', '--file=/a=/x']), /--listen wants IPV4:PORT, got "host:80"/);
  assert.throws(() => parseServeFileArgv(['--listen=10.0.0.1:70000', '--file=/a=/x']), /--listen wants/);
  assert.throws(() => parseServeFileArgv(['--listen=10.0.0.1:80', '--file=agent=x']), /--file wants \/URL-PATH=\/ABSOLUTE\/FILE, got "agent=x"/);
  assert.throws(() => parseServeFileArgv([...ok, '--idle-timeout=0']), /--idle-timeout wants whole seconds/);
  assert.throws(() => parseServeFileArgv([...ok, '--remove-on-exit=rel']), /absolute path/);
  assert.throws(() => parseServeFileArgv([...ok, '--bogus=1']), /unknown option --bogus/);
  assert.throws(() => parseServeFileArgv([...ok, 'stray']), /unexpected argument "stray"/);
});
