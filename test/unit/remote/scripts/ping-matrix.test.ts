/**
 * ping-matrix.sh (phases/shared/ping-matrix.ts pingScript) run by bash against a stub nsenter (the probe's
 * exec prefix) whose ping answers per target, and a stub ip: every target pinged at once with the DF size
 * MTU − 28, small pings and the host's route lookup only for a pair whose DF pings failed, and the output
 * is what parsePingOutput reads.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { stubBox } from './harness.js';
import { PING_END, parsePingOutput, pingScript } from '../../../../src/phases/shared/ping-matrix.js';

const OK = (ip: string) => `PING ${ip} (${ip}) 1422(1450) bytes of data.\\n\\n--- ${ip} ping statistics ---\\n3 packets transmitted, 3 received, 0% packet loss, time 40ms\\nrtt min/avg/max/mdev = 0.100/0.250/0.400/0.050 ms`;
const box = stubBox({
  docker: 'true',
  setsid: 'exec "$@"',
  // ${'$'}* = -t 42 -n ping -n -q -c 3 -i 0.02 -W 1 [-M do -s N] IP; 10.244.3.3 drops full-size DF packets, 10.244.4.4 everything
  nsenter: `ip=\${@: -1}
case "$ip:$*" in
  10.244.4.4:*|10.244.3.3:*'-M do'*) printf '%b\\n' "--- $ip ping statistics ---\\n3 packets transmitted, 0 received, 100% packet loss, time 2030ms"; exit 1 ;;
esac
printf '%b\\n' "${OK('$ip')}"`,
  ip: `echo "[{\\"dst\\":\\"\${@: -1}\\",\\"gateway\\":\\"198.18.1.1\\",\\"dev\\":\\"eth0\\"}]"`,
});
after(() => box.close());

test('ping-matrix.sh: DF pings at MTU − 28 to every target; small pings and ip route get only where they failed; parsePingOutput reads it', async () => {
  const s = pingScript({ exec: 'nsenter -t 42 -n', mtu: 1450, kind: 'docker' }, [{ host: 'h2', ip: '10.244.2.2' }, { host: 'h3', ip: '10.244.3.3' }, { host: "h'4", ip: '10.244.4.4' }]);
  const r = await box.run(s);
  assert.equal(r.code, 0, r.stderr);
  const df = (ip: string) => `nsenter -t 42 -n ping -n -q -c 3 -i 0.02 -W 1 -M do -s 1422 ${ip}`;
  const small = (ip: string) => `nsenter -t 42 -n ping -n -q -c 3 -i 0.02 -W 1 ${ip}`;
  // the pairs run at once: their calls interleave in any order
  assert.deepEqual([...r.calls].sort(), [df('10.244.2.2'), df('10.244.3.3'), df('10.244.4.4'), small('10.244.3.3'), small('10.244.4.4'), 'ip -j route get 10.244.3.3', 'ip -j route get 10.244.4.4'].sort());
  const { results, routeGet } = parsePingOutput(r.stdout);
  const by = new Map(results.map((x) => [x.host, x]));
  assert.deepEqual([...by.keys()].sort(), ["h'4", 'h2', 'h3']);
  assert.deepEqual({ ok: by.get('h2')!.ok, mtuOk: by.get('h2')!.mtuOk, rtt: by.get('h2')!.rttMs }, { ok: true, mtuOk: true, rtt: 0.25 });
  assert.deepEqual({ ok: by.get('h3')!.ok, mtuOk: by.get('h3')!.mtuOk }, { ok: true, mtuOk: false }, 'an MTU black hole');
  assert.match(by.get('h3')!.dfText, /100% packet loss/);
  assert.deepEqual({ ok: by.get("h'4")!.ok, mtuOk: by.get("h'4")!.mtuOk }, { ok: false, mtuOk: false });
  assert.deepEqual([...routeGet.keys()].sort(), ["h'4", 'h3']);
  assert.deepEqual(routeGet.get('h3'), { dev: 'eth0', gateway: '198.18.1.1' });
});

test('ping-matrix.sh with a verdict: the end marker after every result, then `remove` removes the probe and anything else keeps it', async () => {
  const targets = [{ host: 'h2', ip: '10.244.2.2' }];
  const s = pingScript({ exec: 'nsenter -t 42 -n', mtu: 1450, kind: 'docker' }, targets, { verdict: true });
  const keep = await box.run(s, { input: 'keep\n' });
  assert.equal(keep.code, 0, keep.stderr);
  const lines = keep.stdout.split('\n');
  assert.ok(lines.indexOf(PING_END) > lines.findIndex((l) => l.includes('ping h2')), keep.stdout);
  assert.deepEqual(parsePingOutput(keep.stdout).results.map((x) => [x.host, x.ok]), [['h2', true]]);
  assert.ok(!keep.calls.some((c) => c.startsWith('docker')), keep.calls.join('\n'));
  const gone = await box.run(s, { input: 'remove\n' });
  assert.equal(gone.code, 0, gone.stderr);
  // the removal is detached (setsid … &): wait for its stub call to land in the log
  for (let i = 0; i < 50 && !box.calls().some((c) => c.startsWith('docker')); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(box.calls().includes('setsid docker rm -f flanprov-probe'), box.calls().join('\n'));
  // no verdict asked for: no marker, nothing read
  const plain = await box.run(pingScript({ exec: 'nsenter -t 42 -n', mtu: 1450, kind: 'docker' }, targets), { input: 'remove\n' });
  assert.ok(!plain.stdout.includes(PING_END));
  assert.ok(!plain.calls.some((c) => c.startsWith('setsid')), plain.calls.join('\n'));
});
