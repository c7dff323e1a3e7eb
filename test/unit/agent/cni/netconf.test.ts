import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configVersion, decodeStdin, parseNetConf } from '../../../../src/agent/cni/netconf.js';
import { CniError } from '../../../../src/agent/cni/spec.js';

const conf = (o: Record<string, unknown>) => JSON.stringify({ cniVersion: '1.0.0', name: 'flannel', type: 'flannel', ...o });

function fails(text: string, code: number, msg: RegExp): void {
  assert.throws(() => parseNetConf(text), (e: unknown) => e instanceof CniError && e.code === code && msg.test(`${e.msg} ${e.details ?? ''}`));
}

test('defaults: flannel\'s subnetFile and dataDir, no delegate options', () => {
  assert.deepEqual(parseNetConf(conf({})), {
    cniVersion: '1.0.0', name: 'flannel', type: 'flannel', subnetFile: '/run/flannel/subnet.env', dataDir: '/var/lib/cni/flannel', delegate: {},
  });
});

test('fields flannel reads: subnetFile, dataDir, delegate, runtimeConfig, prevResult', () => {
  const c = parseNetConf(conf({
    subnetFile: '/tmp/s.env', dataDir: '/tmp/d', delegate: { bridge: 'br9', hairpinMode: true },
    runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }, prevResult: { cniVersion: '1.0.0' },
  }));
  assert.equal(c.subnetFile, '/tmp/s.env');
  assert.equal(c.dataDir, '/tmp/d');
  assert.deepEqual(c.delegate, { bridge: 'br9', hairpinMode: true });
  assert.deepEqual(c.runtimeConfig, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
  assert.deepEqual(c.prevResult, { cniVersion: '1.0.0' });
});

test('every supported version is accepted; others are error 1 naming the config\'s and the supported ones', () => {
  for (const v of ['0.3.0', '0.3.1', '0.4.0', '1.0.0']) assert.equal(parseNetConf(conf({ cniVersion: v })).cniVersion, v);
  fails(conf({ cniVersion: '0.2.0' }), 1, /incompatible CNI versions config is "0.2.0", plugin supports \["0.3.0","0.3.1","0.4.0","1.0.0"\]/);
  fails(conf({ cniVersion: '1.1.0' }), 1, /"1.1.0"/);
  // libcni reads a config without cniVersion as 0.1.0
  fails(JSON.stringify({ name: 'flannel', type: 'flannel' }), 1, /"0.1.0" \(no cniVersion given\)/);
  assert.equal(configVersion({ cniVersion: '0.4.0' }), '0.4.0');
});

test('stdin that is not a JSON object is error 6', () => {
  fails('', 6, /stdin is empty/);
  fails('{"cniVersion":', 6, /error decoding network config/);
  fails('[1]', 6, /not a JSON object/);
  assert.throws(() => decodeStdin('null'), (e: unknown) => e instanceof CniError && e.code === 6);
  fails(conf({ cniVersion: 4 }), 6, /cniVersion is not a string/);
});

test('a bad name or field is error 7; fields flannel sets in the delegate are error 2 naming key and value', () => {
  fails(conf({ name: '' }), 7, /name must start/);
  fails(conf({ name: '-x' }), 7, /got "-x"/);
  fails(conf({ name: 7 }), 7, /got 7/);
  fails(conf({ subnetFile: 3 }), 7, /subnetFile must be a non-empty string/);
  fails(conf({ dataDir: '' }), 7, /dataDir/);
  fails(conf({ delegate: [] }), 7, /delegate must be an object/);
  fails(conf({ delegate: { type: 5 } }), 7, /must have \(string\) 'type' field/);
  fails(conf({ delegate: { name: 'x' } }), 2, /unsupported field delegate.name.*delegate.name = "x"/);
  fails(conf({ delegate: { ipam: { type: 'dhcp' } } }), 2, /delegate.ipam = \{"type":"dhcp"\}/);
  fails(conf({ runtimeConfig: 'x' }), 7, /runtimeConfig must be an object/);
});
