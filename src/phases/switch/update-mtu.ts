/**
 * switch-backend, phase 8 — Update MTU: Docker's MTU follows subnet.env through flanprov's drop-in
 * (--mtu=${FLANNEL_MTU}), so once the agent has written the new backend's MTU, Docker is restarted where
 * it runs with a different one — always when the MTU shrinks (host-gw → vxlan: full-size packets would
 * be dropped), and when it grows (vxlan → host-gw) only with --raise-mtu: otherwise the smaller MTU is kept
 * (it works, it only wastes 50 bytes a packet) and the run says so. On `flannel_runtime: cni` hosts nothing
 * restarts: cni0, the veths and the running containers' interfaces take the new MTU in place, both ways
 * (shared/cni-mtu.ts), and each one that cannot is named with why.
 */
import type { HostRecorder, HostState, Phase, PhaseContext } from '../framework/types.js';
import { StepFailedError } from '../../util/errors.js';
import { RemotePaths } from '../../inventory/types.js';
import { parseSubnetEnv, type PreviousSubnetEnv } from '../../network/subnet-env.js';
import { dockerMtuFlag, dockerRestartReason, type DockerNow } from '../shared/changes.js';
import { dockerManaged } from '../shared/preflight.js';
import { parseSections, section } from '../../remote/sections.js';
import { remoteScript } from '../../remote/remote-script.js';
import { PROBE_NAME } from '../../network/probe.js';
import { dockerRestartScript, parseDockerState } from '../shared/docker-state.js';
import { gathered } from '../shared/host-state.js';
import { containerMtu } from '../../network/backends.js';
import { mtuAction } from './plan.js';
import { CNI_BRIDGE, CNI_STATE_DIR } from '../../network/cni.js';
import { SYS_NET, describeCniMtu, parseCniMtu } from '../shared/cni-mtu.js';
import { planned, switchRun } from './state.js';

/** How long the agent may take to write the new MTU to subnet.env after reporting the new backend. */
const SUBNET_ENV_WAIT_S = 15;

interface DockerMtuState {
  env?: PreviousSubnetEnv;
  docker: DockerNow;
}

declare module '../../remote/remote-script.js' {
  interface RemoteScripts {
    'update-mtu': { MTU: number | ''; WAIT: number; SUBNET_ENV: string; CNI: number; BRIDGE: string; DATA_DIR: string; SYS_NET: string };
  }
}

/**
 * Waits (on the host) until subnet.env carries `mtu` or the time is up, then prints it and Docker's state;
 * `cni`: then brings the containers to it in place (src/remote/scripts/update-mtu.sh).
 */
function readScript(mtu: number | undefined, cni = false): string {
  return remoteScript('update-mtu', {
    MTU: mtu ?? '', WAIT: SUBNET_ENV_WAIT_S, SUBNET_ENV: RemotePaths.subnetEnv, CNI: cni ? 1 : 0, BRIDGE: CNI_BRIDGE, DATA_DIR: CNI_STATE_DIR, SYS_NET,
  });
}

function parseState(stdout: string): DockerMtuState {
  const se = section(parseSections(stdout), 'subnet_env')?.body;
  return { ...(se?.trim() ? { env: parseSubnetEnv(se) } : {}), docker: parseDockerState(stdout) };
}

/** A cni host: once subnet.env says the new MTU, the bridge and its containers follow in place. */
async function updateCniHost(ctx: PhaseContext, h: HostState, rec: HostRecorder, wanted: number): Promise<void> {
  const br = h.facts.cni?.bridge;
  if (ctx.options.dryRun) {
    if (br && br.mtu !== wanted) rec.changed(`would set ${CNI_BRIDGE}, its veths and its ${h.facts.cni!.ports.length} container(s) to MTU ${wanted} in place`);
    return;
  }
  const r = await h.remote().run(readScript(wanted, true), { timeoutMs: (SUBNET_ENV_WAIT_S + 60) * 1000 });
  const st = parseState(r.stdout);
  if (st.env?.mtu !== wanted) {
    throw new StepFailedError(`${RemotePaths.subnetEnv} says FLANNEL_MTU=${st.env?.mtu ?? '(none)'} ${SUBNET_ENV_WAIT_S} s after the agent reported the new backend, expected ${wanted}; the containers' MTU was not changed`, h.name);
  }
  h.facts.subnetEnv = st.env;
  const d = describeCniMtu(parseCniMtu(r.stdout, wanted));
  for (const c of d.changed) rec.changed(c);
  for (const p of d.problems) ctx.log('warn', `${h.name}: ${p}`);
}

async function updateHost(ctx: PhaseContext, h: HostState, rec: HostRecorder): Promise<void> {
  const run = switchRun(ctx);
  const cfg = planned(run).target.config;
  const f = gathered(h);
  if (h.spec.flannel.runtime === 'cni') return updateCniHost(ctx, h, rec, containerMtu(cfg, h.facts.iface?.mtu ?? 1500));
  if (!dockerManaged(h.spec, f)) {
    rec.skip('Docker is not managed by flanprov on this host');
    return;
  }
  const wanted = containerMtu(cfg, h.facts.iface?.mtu ?? 1500);
  const before = ctx.options.dryRun
    ? { docker: { active: f.docker.unit?.active === 'active', ...(f.docker.cmdline ? { cmdline: f.docker.cmdline } : {}) } }
    : parseState((await h.remote().run(readScript(undefined), { timeoutMs: 30_000 })).stdout);
  const act = mtuAction(dockerMtuFlag(before.docker.cmdline), wanted, run.opts.raiseMtu);
  if (act.action === 'none') {
    if (before.env) h.facts.subnetEnv = before.env;
    return;
  }
  if (act.action === 'keep') {
    run.mtuKept.push({ host: h.name, from: act.from, to: act.to, ...(before.env?.mtu !== undefined ? { envMtu: before.env.mtu } : {}) });
    rec.info(`Docker keeps MTU ${act.from} (${cfg.backendType} allows ${act.to}; --raise-mtu restarts Docker to use it)`);
    if (before.env) h.facts.subnetEnv = before.env;
    return;
  }
  if (ctx.options.dryRun) {
    rec.changed(`would restart docker (${act.why}; its containers restart)`);
    return;
  }
  // Docker takes its MTU from subnet.env: the agent must have written the new one first.
  const st = parseState((await h.remote().run(readScript(wanted), { timeoutMs: (SUBNET_ENV_WAIT_S + 30) * 1000 })).stdout);
  if (st.env?.mtu !== wanted) {
    throw new StepFailedError(`${RemotePaths.subnetEnv} says FLANNEL_MTU=${st.env?.mtu ?? '(none)'} ${SUBNET_ENV_WAIT_S} s after the agent reported ${cfg.backendType}, expected ${wanted}; Docker was not restarted`, h.name);
  }
  h.facts.subnetEnv = st.env;
  // Our early verify probe (a `sleep` that ignores SIGTERM) would hold the restart for Docker's 10 s stop timeout.
  const r = await h.remote().run(dockerRestartScript({ removeProbe: PROBE_NAME }), { timeoutMs: 120_000 });
  h.facts.dockerRestarted = true; // its containers (and an early verify probe) are gone
  rec.changed(`docker restarted (${act.why})`);
  if (r.code !== 0) throw new StepFailedError(`restarting docker failed: ${r.stderr.trim()}`, h.name);
  const still = dockerRestartReason(false, st.env, parseDockerState(r.stdout));
  if (still) throw new StepFailedError(`docker restarted but ${still}`, h.name);
}

export const updateMtuPhase: Phase = {
  title: 'Update MTU',
  shouldRun: (ctx) => switchRun(ctx).kind !== 'noop' || switchRun(ctx).opts.raiseMtu,
  dryRun: (ctx) => ctx.forEachHost((h, rec) => updateHost(ctx, h, rec)),
  async run(ctx) {
    const run = switchRun(ctx);
    await ctx.forEachHost((h, rec) => updateHost(ctx, h, rec));
    if (run.mtuKept.length) {
      const k = run.mtuKept[0]!;
      ctx.log('info', `Docker keeps the smaller MTU ${k.from} on ${run.mtuKept.map((x) => x.host).join(', ')} (${run.opts.target} allows ${k.to}): it works, each packet carries 50 bytes less than it could. \`flanprov switch-backend ${run.opts.target} --raise-mtu\` (or \`flanprov up --raise-mtu\`) restarts Docker to raise it; a plain \`flanprov up\` keeps it and reports no change`);
    }
  },
};
