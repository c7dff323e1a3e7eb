/**
 * The agent's CNI plugin against Debian's real bridge and host-local (containernetworking-plugins), the
 * way a runtime calls it: a fresh bundle of the agent run as `flannel` (argv[0]) with the CNI environment
 * and the config on stdin, inside a "host" namespace <id>h, for "containers" that are network namespaces
 * <id>c1..c3. Each spec version once; results, kernel state, pings at the MTU, CHECK, DEL releasing every
 * address, DEL twice, and "try again later" without subnet.env. Prefix fpc<id>; nothing is created in the
 * root namespace except host-local's store /var/lib/cni/networks/<id> (removed afterwards).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleAgent } from './agent-harness.js';
import { CNI_DEBIAN_BIN_DIR, CNI_HOST_LOCAL_DIR } from '../../src/network/cni.js';
import { SYS_NET, describeCniMtu, parseCniMtu } from '../../src/phases/shared/cni-mtu.js';
import '../../src/phases/up/cni-network.js'; // RemoteScripts['cni-network']
import { remoteScript } from '../../src/remote/remote-script.js';

const ID = `fpc${process.pid % 10000}`;
const HOST = `${ID}h`;
const BR = `${ID}br`;
const DIR = `/tmp/${ID}`;
const SUBNET_FILE = join(DIR, 'subnet.env');
const DATA_DIR = join(DIR, 'state');
const STORE = join(CNI_HOST_LOCAL_DIR, ID);
const CONTAINERS = ['c1', 'c2', 'c3'];
const VERSIONS = ['0.3.1', '0.4.0', '1.0.0'];
const MTU = 1400;
let bundle = '';

function sh(script: string): string {
  return execFileSync('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

interface Call { status: number | null; json?: Record<string, unknown>; stdout: string; stderr: string }

/** The plugin as a runtime runs it: argv[0] "flannel", the CNI environment, the config on stdin, in the host netns. */
function plugin(command: string, container: string, conf: Record<string, unknown>, extraEnv: Record<string, string> = {}): Call {
  const env = {
    PATH: process.env.PATH!, CNI_COMMAND: command, CNI_CONTAINERID: `${ID}-${container}`, CNI_NETNS: `/run/netns/${ID}${container}`,
    CNI_IFNAME: 'eth0', CNI_PATH: '/nonexistent', CNI_ARGS: 'IgnoreUnknown=1', ...extraEnv,
  };
  const r = spawnSync('ip', ['netns', 'exec', HOST, 'bash', '-c', `exec -a flannel ${process.execPath} ${bundle}`], { input: JSON.stringify(conf), env, encoding: 'utf8' });
  const out: Call = { status: r.status, stdout: r.stdout, stderr: r.stderr };
  if (r.stdout.trim()) out.json = JSON.parse(r.stdout) as Record<string, unknown>;
  return out;
}

const conf = (cniVersion: string, extra: Record<string, unknown> = {}) => ({
  cniVersion, name: ID, type: 'flannel', subnetFile: SUBNET_FILE, dataDir: DATA_DIR, delegate: { bridge: BR, hairpinMode: true }, ...extra,
});

describe('flannel CNI plugin with Debian\'s bridge and host-local', { skip: !existsSync(join(CNI_DEBIAN_BIN_DIR, 'bridge')) && 'containernetworking-plugins is not installed' }, () => {
  const results = new Map<string, Record<string, unknown>>();

  before(async () => {
    mkdirSync(DIR, { recursive: true });
    bundle = await bundleAgent(join(DIR, 'flanneld.cjs'));
    writeFileSync(SUBNET_FILE, `FLANNEL_NETWORK=10.251.0.0/16\nFLANNEL_SUBNET=10.251.3.1/24\nFLANNEL_MTU=${MTU}\nFLANNEL_IPMASQ=true\n`);
    sh([HOST, ...CONTAINERS.map((c) => `${ID}${c}`)].map((n) => `ip netns add ${n}; ip -n ${n} link set lo up`).join('\n'));
  });

  after(() => {
    for (const n of [HOST, ...CONTAINERS.map((c) => `${ID}${c}`)]) spawnSync('ip', ['netns', 'del', n]);
    rmSync(DIR, { recursive: true, force: true });
    rmSync(STORE, { recursive: true, force: true });
  });

  it('ADD in every version: the spec\'s result in that version, the container on the bridge at the MTU with flannel\'s routes', () => {
    for (const [i, c] of CONTAINERS.entries()) {
      const v = VERSIONS[i]!;
      const r = plugin('ADD', c, conf(v));
      assert.equal(r.status, 0, `${c}: ${r.stdout} ${r.stderr}`);
      const res = r.json!;
      results.set(c, res);
      assert.equal(res.cniVersion, v);
      const ips = res.ips as { version?: string; address: string; gateway: string; interface: number }[];
      assert.equal(ips.length, 1);
      assert.match(ips[0]!.address, /^10\.251\.3\.\d+\/24$/);
      assert.equal(ips[0]!.gateway, '10.251.3.1');
      assert.equal(ips[0]!.version, v === '1.0.0' ? undefined : '4');
      const ifs = res.interfaces as { name: string; sandbox?: string }[];
      assert.equal(ifs[0]!.name, BR);
      assert.equal(ifs[ips[0]!.interface]!.sandbox, `/run/netns/${ID}${c}`);
      assert.deepEqual(res.routes, [{ dst: '10.251.0.0/16', gw: '10.251.3.1' }, { dst: '0.0.0.0/0', gw: '10.251.3.1' }]);
      const link = JSON.parse(sh(`ip -n ${ID}${c} -j link show eth0`))[0];
      assert.equal(link.mtu, MTU);
      const routes = sh(`ip -n ${ID}${c} route`);
      assert.match(routes, /default via 10\.251\.3\.1 dev eth0/);
      assert.match(routes, /10\.251\.0\.0\/16 via 10\.251\.3\.1 dev eth0/);
      // the delegate config is kept where flannel keeps it
      const kept = JSON.parse(readFileSync(join(DATA_DIR, `${ID}-${c}`), 'utf8'));
      assert.equal(kept.type, 'bridge');
      assert.equal(kept.ipam.subnet, '10.251.3.0/24');
    }
    const store = readdirSync(STORE).filter((f) => /^10\./.test(f));
    assert.equal(store.length, 3);
  });

  it('containers reach each other and their gateway with full-size don\'t-fragment pings', () => {
    const addr = (c: string) => (results.get(c)!.ips as { address: string }[])[0]!.address.split('/')[0]!;
    sh(`ip netns exec ${ID}c1 ping -c 2 -W 2 -M do -s ${MTU - 28} ${addr('c2')}`);
    sh(`ip netns exec ${ID}c3 ping -c 2 -W 2 -M do -s ${MTU - 28} ${addr('c1')}`);
    sh(`ip netns exec ${ID}c2 ping -c 1 -W 2 10.251.3.1`);
    assert.throws(() => sh(`ip netns exec ${ID}c1 ping -c 1 -W 1 -M do -s ${MTU - 27} ${addr('c2')}`), 'a packet above the MTU does not pass with DF');
  });

  it('the MTU changes in place (switch-backend): bridge, veths and containers, both ways; what cannot change is named', () => {
    const addr = (c: string) => (results.get(c)!.ips as { address: string }[])[0]!.address.split('/')[0]!;
    const mtuOf = (ns: string, dev: string) => JSON.parse(sh(`ip -n ${ns} -j link show ${dev}`))[0].mtu as number;
    const veths = () => (JSON.parse(sh(`ip -n ${HOST} -j link show master ${BR}`)) as { ifname: string; mtu: number }[]);
    // a veth on the bridge that no container of the plugin owns, and a record whose netns is gone
    sh(`ip -n ${HOST} link add ${ID}o mtu ${MTU} type veth peer name ${ID}p mtu ${MTU}; ip -n ${HOST} link set ${ID}o master ${BR} up`);
    writeFileSync(join(DATA_DIR, '.sandbox', 'ghost'), JSON.stringify({ netns: `/run/netns/${ID}none`, ifname: 'eth0', network: ID }));
    for (const to of [1450, 1350]) {
      const r = spawnSync('ip', ['netns', 'exec', HOST, 'bash', '-s'], { input: remoteScript('cni-network', { LINK: '', TARGET: '', RESET_BRIDGE: 0, BRIDGE: BR, MTU: to, DATA_DIR, SYS_NET }), encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const rep = parseCniMtu(r.stdout, to);
      assert.deepEqual(rep.bridge, { from: to === 1450 ? MTU : 1450, to });
      const ok = rep.containers.filter((c) => !c.error);
      assert.deepEqual(ok.map((c) => c.id).sort(), CONTAINERS.map((c) => `${ID}-${c}`));
      assert.ok(ok.every((c) => c.veth && c.from === (to === 1450 ? MTU : 1450)), JSON.stringify(ok));
      assert.deepEqual(rep.containers.filter((c) => c.error).map((c) => [c.id, /is gone/.test(c.error!)]), [['ghost', true]]);
      assert.deepEqual(rep.orphans.map((o) => [o.name, o.error]), [[`${ID}o`, undefined]]);
      const d = describeCniMtu(rep);
      assert.equal(d.problems.length, 2, d.problems.join('; '));
      for (const c of CONTAINERS) assert.equal(mtuOf(`${ID}${c}`, 'eth0'), to);
      assert.ok(veths().every((v) => v.mtu === to), JSON.stringify(veths()));
      assert.equal(mtuOf(HOST, BR), to);
      for (const c of CONTAINERS) assert.equal(JSON.parse(readFileSync(join(DATA_DIR, `${ID}-${c}`), 'utf8')).mtu, to, 'the kept delegate config says the new MTU');
      sh(`ip netns exec ${ID}c1 ping -c 2 -W 2 -M do -s ${to - 28} ${addr('c2')}`);
      sh(`ip netns exec ${ID}c2 ping -c 2 -W 2 -M do -s ${to - 28} ${addr('c3')}`);
    }
    sh(`ip -n ${HOST} link del ${ID}o`);
    rmSync(join(DATA_DIR, '.sandbox', 'ghost'));
  });

  it('CHECK (0.4.0, 1.0.0) with the prevResult passes; the bridge really checks (a removed address fails it)', () => {
    for (const c of ['c2', 'c3']) {
      const v = String(results.get(c)!.cniVersion);
      const r = plugin('CHECK', c, conf(v, { prevResult: results.get(c) }));
      assert.equal(r.status, 0, `${c}: ${r.stdout}`);
      assert.equal(r.stdout, '');
    }
    const a = (results.get('c3')!.ips as { address: string }[])[0]!.address;
    sh(`ip -n ${ID}c3 addr del ${a} dev eth0`);
    const r = plugin('CHECK', 'c3', conf('1.0.0', { prevResult: results.get('c3') }));
    assert.equal(r.status, 1);
    assert.match(String(r.json!.msg), /^delegate bridge \(CHECK\)/);
    assert.equal(r.json!.cniVersion, '1.0.0');
  });

  it('DEL releases every address and interface; state gone; a second DEL (and one for a stranger) succeeds', () => {
    for (const c of CONTAINERS) {
      const v = String(results.get(c)!.cniVersion);
      const r = plugin('DEL', c, conf(v));
      assert.equal(r.status, 0, `${c}: ${r.stdout} ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.equal(sh(`ip -n ${ID}${c} -o link show`).includes('eth0'), false);
    }
    assert.deepEqual(readdirSync(STORE).filter((f) => /^10\./.test(f)), []);
    assert.deepEqual(readdirSync(DATA_DIR).filter((f) => !f.startsWith('.')), []);
    assert.deepEqual(readdirSync(join(DATA_DIR, '.sandbox')), []);
    assert.equal(sh(`ip -n ${HOST} -o link show master ${BR}`), '');
    assert.equal(plugin('DEL', 'c1', conf('1.0.0')).status, 0);
    assert.equal(plugin('DEL', 'stranger', conf('1.0.0'), { CNI_NETNS: '' }).status, 0);
  });

  it('no subnet.env: "try again later" (11) naming the file, in the config\'s version; nothing allocated', () => {
    rmSync(SUBNET_FILE);
    const r = plugin('ADD', 'c1', conf('0.4.0'));
    assert.equal(r.status, 1);
    assert.equal(r.json!.code, 11);
    assert.equal(r.json!.cniVersion, '0.4.0');
    assert.ok(String(r.json!.msg).startsWith(`${SUBNET_FILE} does not exist yet`));
    assert.deepEqual(readdirSync(STORE).filter((f) => /^10\./.test(f)), []);
  });

  it('VERSION through the same binary', () => {
    const r = spawnSync(process.execPath, [bundle], { input: '{"cniVersion":"1.0.0"}', env: { CNI_COMMAND: 'VERSION' }, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(r.stdout), { cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] });
  });
});
