import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeVxlanOptions, parseNetworkConfig, subnetCount, validateNetworkConfig, NetworkConfigError } from '../../../src/network/config.js';
import { formatNet, formatIpv4 } from '../../../src/network/ipv4.js';
import { ExitCode } from '../../../src/util/errors.js';

const err = (cfg: unknown) => {
  const r = validateNetworkConfig(cfg as string);
  assert.equal(r.ok, false, `expected an error for ${JSON.stringify(cfg)}`);
  return (r as { error: string }).error;
};

test('defaults: /16 -> SubnetLen 24, range .1.0 ... .255.0, backend udp when absent', () => {
  const c = parseNetworkConfig('{"Network":"10.5.0.0/16"}');
  assert.equal(formatNet(c.network), '10.5.0.0/16');
  assert.equal(c.subnetLen, 24);
  assert.equal(formatNet(c.subnetMin), '10.5.1.0/24');
  assert.equal(formatNet(c.subnetMax), '10.5.255.0/24');
  assert.equal(subnetCount(c), 255);
  assert.equal(c.backendType, 'udp');
  assert.equal(c.enableIPv4, true);
  assert.equal(c.enableIPv6, false);
});

test('keys are case-insensitive at every level; host bits are masked', () => {
  const c = parseNetworkConfig('{"NetWork":"10.0.3.7/16","SubnetMin":"10.0.1.0","subnetmax":"10.0.200.0","backend":{"TYPE":"VXLAN","vni":4,"directrouting":true,"Port":4789}}');
  assert.equal(formatNet(c.network), '10.0.0.0/16');
  assert.equal(formatIpv4(c.subnetMin.ip), '10.0.1.0');
  assert.equal(formatIpv4(c.subnetMax.ip), '10.0.200.0');
  assert.equal(c.backendType, 'vxlan');
  assert.deepEqual(decodeVxlanOptions(c.backendRaw), { vni: 4, port: 4789, mtu: 0, gbp: false, learning: false, directRouting: true });
});

test('vxlan defaults and Go type errors', () => {
  assert.deepEqual(decodeVxlanOptions({ Type: 'vxlan' }), { vni: 1, port: 0, mtu: 0, gbp: false, learning: false, directRouting: false });
  assert.throws(() => decodeVxlanOptions({ VNI: '1' }), { message: 'error decoding VXLAN backend config: json: cannot unmarshal string into Go struct field .VNI of type int' });
});

test('SubnetLen defaults by network size', () => {
  const len = (n: string) => parseNetworkConfig({ Network: n }).subnetLen;
  assert.equal(len('10.0.0.0/8'), 24);
  assert.equal(len('10.0.0.0/22'), 24);
  assert.equal(len('10.0.0.0/23'), 25);
  assert.equal(len('10.0.0.0/24'), 26);
  assert.equal(len('10.0.0.0/26'), 28);
  assert.equal(len('10.0.0.0/28'), 30);
});

test("docs' canonical example is valid", () => {
  const c = parseNetworkConfig('{"Network":"10.0.0.0/8","SubnetLen":20,"SubnetMin":"10.10.0.0","SubnetMax":"10.99.0.0","Backend":{"Type":"udp","Port":7890}}');
  assert.equal(c.subnetLen, 20);
  assert.equal(formatNet(c.subnetMin), '10.10.0.0/20');
  assert.equal(c.backendType, 'udp');
});

test("flannel's error messages, verbatim", () => {
  assert.equal(err('{}'), 'please define a correct Network parameter in the flannel config');
  assert.equal(err('{"Network":"0.0.0.0/0"}'), 'please define a correct Network parameter in the flannel config');
  assert.equal(err('{"Network":"10.0.0.0/16","SubnetLen":31}'), 'SubnetLen must be less than /31');
  assert.equal(err('{"Network":"10.0.0.0/16","SubnetLen":17}'), 'network must be able to accommodate at least four subnets');
  assert.equal(err('{"Network":"10.0.0.0/29"}'), 'network is too small. Minimum useful network prefix is /28');
  assert.equal(err('{"Network":"10.0.0.0/16","SubnetMin":"10.1.0.0"}'), 'SubnetMin is not in the range of the Network');
  assert.equal(err('{"Network":"10.0.0.0/16","SubnetMax":"11.0.0.0"}'), 'SubnetMax is not in the range of the Network');
  assert.equal(err('{"Network":"10.0.0.0/16","SubnetMin":"10.0.1.5"}'), 'SubnetMin is not on a SubnetLen boundary: 10.0.1.5');
  assert.equal(err('{"Network":"10.0.0.0/16","SubnetMax":"10.0.9.128"}'), 'SubnetMax is not on a SubnetLen boundary: 10.0.9.128');
  assert.equal(err('{"Network":"fc00::/48"}'), 'invalid IPv4 CIDR format');
  assert.equal(err('{"Network":"10.0.0.0"}'), 'invalid CIDR address: 10.0.0.0');
  assert.equal(err('{"Network":"10.0.0.0/16","SubnetMin":"banana"}'), 'Invalid IP address format');
  assert.equal(err('{"Network":"10.0.0.0/16","SubnetLen":"24"}'), 'json: cannot unmarshal string into Go struct field Config.SubnetLen of type uint');
  assert.equal(err('{"Network":"10.0.0.0/16","SubnetLen":-1}'), 'json: cannot unmarshal number -1 into Go struct field Config.SubnetLen of type uint');
  assert.equal(err('{"Network":"10.0.0.0/16","EnableIPv4":"yes"}'), 'json: cannot unmarshal string into Go struct field Config.EnableIPv4 of type bool');
  assert.match(err('{"Network": '), /^invalid JSON: /);
  assert.match(err('{"Network":"10.0.0.0/16","Backend":"vxlan"}'), /^error decoding Backend property of config: /);
});

test('IPv6 part validated like flannel', () => {
  assert.equal(err('{"Network":"10.0.0.0/16","EnableIPv6":true}'), 'please define a correct IPv6Network parameter in the flannel config');
  assert.equal(err('{"Network":"10.0.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/125"}'), 'IPv6Network is too small. Minimum useful network prefix is /124');
  assert.equal(err('{"Network":"10.0.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48","IPv6SubnetLen":127}'), 'SubnetLen must be less than /127');
  assert.equal(err('{"Network":"10.0.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48","IPv6SubnetMin":"fd00::"}'), 'IPv6SubnetMin is not in the range of the IPv6Network');
  const c = parseNetworkConfig('{"Network":"10.0.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48"}');
  assert.deepEqual(c.ipv6, { network: 'fc00::/48', subnetLen: 64, subnetMin: 'fc00:0:0:1::', subnetMax: 'fc00:0:0:ffff::' });
});

test('EnableIPv4=false skips the IPv4 checks; Backend {} gives type ""', () => {
  const c = parseNetworkConfig('{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fc00::/48","Backend":{}}');
  assert.equal(c.enableIPv4, false);
  assert.equal(c.backendType, '');
});

test('errors carry exit code 2 (invalid input) for the CLI', () => {
  try {
    parseNetworkConfig('{}');
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof NetworkConfigError);
    assert.equal(e.exitCode, ExitCode.INVALID_INPUT);
  }
});
