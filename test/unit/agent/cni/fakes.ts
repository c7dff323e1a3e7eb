/** In-memory stand-ins for the plugin's I/O (state store, delegate runner, subnet.env) for the command tests. */
import type { ExecOutcome, PluginRunner } from '../../../../src/agent/cni/invoke.js';
import type { SandboxRecord, StateStore } from '../../../../src/agent/cni/state.js';
import type { CommandDeps } from '../../../../src/agent/cni/commands.js';

export const SUBNET_ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';

export class MemoryStore implements StateStore {
  readonly files = new Map<string, string>();
  readonly sandboxes = new Map<string, SandboxRecord>();
  save(dir: string, id: string, conf: string, sb: SandboxRecord): void {
    this.files.set(`${dir}/${id}`, conf);
    this.sandboxes.set(`${dir}/${id}`, sb);
  }
  load(dir: string, id: string): string | undefined {
    return this.files.get(`${dir}/${id}`);
  }
  remove(dir: string, id: string): void {
    this.files.delete(`${dir}/${id}`);
    this.sandboxes.delete(`${dir}/${id}`);
  }
}

export interface Call { path: string; stdin: string; env: NodeJS.ProcessEnv }

/** A delegate runner: `plugins` are the executables that exist; `answer` decides what each call prints. */
export class FakeRunner implements PluginRunner {
  readonly calls: Call[] = [];
  constructor(
    readonly plugins: Record<string, string> = { bridge: '/usr/lib/cni/bridge' },
    readonly answer: (c: Call) => ExecOutcome = (c) => ({ status: 0, stdout: c.env.CNI_COMMAND === 'ADD' ? bridgeResult(JSON.parse(c.stdin).cniVersion) : '', stderr: '' }),
  ) {}
  find(type: string, dirs: readonly string[]): string | undefined {
    const p = this.plugins[type];
    return p && dirs.some((d) => p.startsWith(`${d}/`)) ? p : undefined;
  }
  exec(path: string, stdin: string, env: NodeJS.ProcessEnv): ExecOutcome {
    const c = { path, stdin, env };
    this.calls.push(c);
    return this.answer(c);
  }
}

/** What Debian's bridge prints for an ADD in `version` (0.4.0 shape: ips carry version; 1.0.0's do not). */
export function bridgeResult(version: string): string {
  const ip = { ...(version === '1.0.0' ? {} : { version: '4' }), interface: 2, address: '10.244.7.2/24', gateway: '10.244.7.1' };
  return JSON.stringify({
    cniVersion: version,
    interfaces: [{ name: 'cni0', mac: '0a:58:0a:f4:07:01' }, { name: 'veth1234', mac: '5e:1a:00:00:00:01' }, { name: 'eth0', mac: '0a:58:0a:f4:07:02', sandbox: '/run/netns/c1' }],
    ips: [ip],
    routes: [{ dst: '10.244.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.244.7.1' }],
    dns: {},
  });
}

export function deps(store = new MemoryStore(), runner = new FakeRunner(), subnetEnv: string | null = SUBNET_ENV): CommandDeps {
  return {
    store, runner, processEnv: { PATH: '/usr/bin', CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/c1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' },
    readFile: () => {
      if (subnetEnv === null) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return subnetEnv;
    },
  };
}
