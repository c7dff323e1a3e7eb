import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFlags, parseFlags, parseGoDuration, UsageError } from '../../../src/agent/flags.js';

test('defaults are flannel\'s', () => {
  const f = parseFlags([]);
  assert.equal(f.etcdEndpoints, 'http://127.0.0.1:4001,http://127.0.0.1:2379');
  assert.equal(f.etcdPrefix, '/coreos.com/network');
  assert.equal(f.subnetFile, '/run/flannel/subnet.env');
  assert.equal(f.subnetLeaseRenewMargin, 60);
  assert.equal(f.ipMasq, false);
  assert.equal(f.iptablesForwardRules, true);
  assert.equal(f.healthzIp, '0.0.0.0');
  assert.equal(f.healthzPort, 0);
  assert.deepEqual(f.iface, []);
});

test('Go flag syntax: -x=v, --x=v, -x v, booleans, repeatable -iface', () => {
  const f = parseFlags(['-etcd-endpoints=http://a:2379', '--etcd-prefix=/p', '-iface', 'eth1', '--iface=10.0.0.1', '-ip-masq', '-iptables-forward-rules=false', '-healthz-port', '8471', '-v=2']);
  assert.equal(f.etcdEndpoints, 'http://a:2379');
  assert.equal(f.etcdPrefix, '/p');
  assert.deepEqual(f.iface, ['eth1', '10.0.0.1']);
  assert.equal(f.ipMasq, true);
  assert.equal(f.iptablesForwardRules, false);
  assert.equal(f.healthzPort, 8471);
  assert.equal(f.v, 2);
  assert.equal(parseFlags(['-ip-masq=F']).ipMasq, false);
  assert.equal(parseFlags(['-healthz-port=0x10']).healthzPort, 16);
});

test('a boolean does not swallow the next argument', () => {
  assert.throws(() => parseFlags(['-ip-masq', 'false']), { message: 'unexpected argument: false' });
});

test('FLANNELD_* env applies only where the command line is silent, empty ignored', () => {
  const env = { FLANNELD_ETCD_PREFIX: '/env', FLANNELD_IP_MASQ: 'true', FLANNELD_IFACE: 'eth9', FLANNELD_PUBLIC_IP: '', FLANNELD_HEALTHZ_PORT: '9000' };
  const f = parseFlags(['-etcd-prefix=/cli'], env);
  assert.equal(f.etcdPrefix, '/cli');
  assert.equal(f.ipMasq, true);
  assert.deepEqual(f.iface, ['eth9']);
  assert.equal(f.publicIp, '');
  assert.equal(f.healthzPort, 9000);
  assert.throws(() => parseFlags([], { FLANNELD_HEALTHZ_PORT: 'x' }), { message: 'invalid value "x" for FLANNELD_HEALTHZ_PORT (flag -healthz-port): parse error' });
});

test('usage errors name the flag, in Go\'s words', () => {
  const msg = (a: string[]) => {
    try {
      parseFlags(a);
    } catch (e) {
      assert.ok(e instanceof UsageError);
      return e.message;
    }
    return assert.fail('no error');
  };
  assert.equal(msg(['-no-such-flag=1']), 'flag provided but not defined: -no-such-flag');
  assert.equal(msg(['-healthz-port=abc']), 'invalid value "abc" for flag -healthz-port: parse error');
  assert.equal(msg(['-ip-masq=maybe']), 'invalid boolean value "maybe" for flag -ip-masq: parse error');
  assert.equal(msg(['-etcd-prefix']), 'flag needs an argument: -etcd-prefix');
  assert.equal(msg(['-subnet-lease-renew-margin=1440']), 'Invalid subnet-lease-renew-margin option, out of acceptable range');
  assert.equal(msg(['---x']), 'bad flag syntax: ---x');
  assert.match(msg(['-iface-regex=(']), /^invalid value "\(" for flag -iface-regex/);
});

test('the password never appears in the flags log line', () => {
  const f = parseFlags(['-etcd-username=root', '-etcd-password=s3cret!']);
  const line = describeFlags(f);
  assert.ok(!line.includes('s3cret!'));
  assert.match(line, /etcd-password:<redacted>/);
  assert.match(line, /etcd-username:root/);
});

test('-backend-switch-timeout takes Go durations (default 60s); a bad one is a usage error naming it', () => {
  assert.equal(parseFlags([]).backendSwitchTimeout, 60_000);
  assert.equal(parseFlags(['-backend-switch-timeout=90s']).backendSwitchTimeout, 90_000);
  assert.equal(parseFlags(['--backend-switch-timeout', '1m30s']).backendSwitchTimeout, 90_000);
  assert.equal(parseFlags([], { FLANNELD_BACKEND_SWITCH_TIMEOUT: '500ms' }).backendSwitchTimeout, 500);
  assert.equal(parseGoDuration('1.5h'), 5_400_000);
  assert.equal(parseGoDuration('0'), 0);
  for (const bad of ['60', '1x', 's', '-5s', '']) assert.equal(parseGoDuration(bad), undefined, bad);
  assert.throws(() => parseFlags(['-backend-switch-timeout=60']), (e: Error) => e instanceof UsageError && /-backend-switch-timeout/.test(e.message));
});
