/**
 * Phase 7 — Start: daemon-reload only if a unit changed; enable flanneld if it is not; (re)start it only if
 * its binary, unit or environment changed (or it is not running); wait until it is ready (subnet.env
 * written, routes programmed); restart Docker only when its drop-in changed or docker0 / the running dockerd
 * do not match the subnet and MTU in subnet.env. A host with nothing to do costs no round trip at all.
 */
import type { HostState, Phase, PhaseContext } from '../framework/types.js';
import type { HostRecorder } from '../framework/types.js';
import { StepFailedError } from '../../util/errors.js';
import { parseSubnetEnv } from '../../network/subnet-env.js';
import { dockerDecision, dockerRestartReason, planStart, type DockerNow, type StartPlan } from '../shared/changes.js';
import { readAgentStatus } from '../../network/agent-status.js';
import { dockerManaged } from '../shared/preflight.js';
import { dropInForcesDockerRestart } from './adopt-docker.js';
import { parseSections, section } from '../../remote/sections.js';
import { remoteScript } from '../../remote/remote-script.js';
import { RemotePaths } from '../../inventory/types.js';
import { gathered } from '../shared/host-state.js';
import { dockerRestartScript, parseDockerState } from '../shared/docker-state.js';
import type { Takeover } from './adopt-agent.js'; // and HostFacts.takeover
import { PROBE_IMAGE, PROBE_NAME } from '../../network/probe.js';
import { parseProbe, probeRemoveScript, type Probe } from '../shared/ping-matrix.js';

declare module '../framework/types.js' {
  interface HostFacts {
    /** verify's probe, started by the start script right after Docker's restart (verify.ts takes it over) */
    startProbe?: Probe;
  }
  interface RunState {
    /** `up --raise-mtu`: restart Docker where its MTU is smaller than subnet.env's */
    raiseMtu?: boolean;
  }
}

/** Seconds to wait for the agent's /readyz. */
const READY_TIMEOUT_S = 60;

declare module '../../remote/remote-script.js' {
  interface RemoteScripts {
    start: {
      END_UNITS: readonly string[]; END_PIDS: readonly number[]; TAKEOVER: number; DAEMON_RELOAD: number; ENABLE: number; RESTART: number;
      PORT: number; READY_TIMEOUT: number; SUBNET_ENV: string; DOCKER_RESTART: number; PROBE_IMAGE: string; PROBE_NAME: string;
    };
  }
}

/** Docker's part of the start script: restart it once the agent is ready, then start verify's probe. */
export interface StartDocker {
  restart?: boolean;
  /** verify's probe container, started after the restart (it would not survive one started before) */
  probe?: { image: string; name: string };
}

/**
 * The start script (src/remote/scripts/start.sh): ends the old agents of a takeover, runs what the plan
 * asks for, waits for /readyz, then prints the agent's state, subnet.env and Docker's state; with
 * `docker.restart`, Docker is restarted first (and verify's probe started) in the same exec.
 */
export function startScript(plan: StartPlan, takeover: Takeover | undefined, port: number, timeoutS = READY_TIMEOUT_S, docker: StartDocker = {}): string {
  return remoteScript('start', {
    END_UNITS: takeover?.units ?? [], END_PIDS: takeover?.pids ?? [], TAKEOVER: takeover ? 1 : 0,
    DAEMON_RELOAD: plan.daemonReload ? 1 : 0, ENABLE: plan.enableAgent ? 1 : 0, RESTART: plan.restartAgent ? 1 : 0,
    PORT: port, READY_TIMEOUT: timeoutS, SUBNET_ENV: RemotePaths.subnetEnv,
    // (start.sh starts the probe only after a restart in it)
    DOCKER_RESTART: docker.restart ? 1 : 0, PROBE_IMAGE: docker.probe?.image ?? '', PROBE_NAME: docker.probe?.name ?? '',
  });
}

/** The exit status of the start script when Docker's restart in it failed (start.sh). */
const DOCKER_RESTART_FAILED_EXIT = 4;

function readyFromFacts(h: HostState): boolean {
  const f = gathered(h);
  return f.agent.unit?.active === 'active' && f.agent.status?.ready === true && !!f.subnetEnv?.subnet;
}

async function startHost(ctx: PhaseContext, h: HostState, rec: HostRecorder): Promise<void> {
  const f = gathered(h);
  const plan = planStart({ written: h.facts.written ?? [], binaryChanged: !!h.facts.binaryChanged, agent: f.agent.unit });
  // up --adopt: the old flanneld ends in the same script that starts ours (adopt-agent.ts)
  const takeover = h.facts.takeover;
  if (takeover && !plan.restartAgent) plan.restartAgent = 'replacing the old flanneld';
  h.facts.startPlan = plan;
  const dockerOpts = { raiseMtu: ctx.state.raiseMtu === true, backend: ctx.cluster.network.backend };
  let docker: DockerNow = { active: f.docker.unit?.active === 'active', ...(f.docker.bridge?.addr ? { bridgeAddr: f.docker.bridge.addr } : {}), ...(f.docker.cmdline ? { cmdline: f.docker.cmdline } : {}), ...(f.docker.running ? { running: f.docker.running } : {}) };
  if (ctx.options.dryRun) {
    if (plan.daemonReload) rec.changed('would run systemctl daemon-reload');
    if (plan.enableAgent) rec.changed('would enable flanneld');
    if (plan.restartAgent) rec.changed(`would restart flanneld (${plan.restartAgent})`);
    if (dockerManaged(h.spec, f)) {
      const d = dockerDecision(dropInForcesDockerRestart(ctx, h, plan), f.subnetEnv, docker, dockerOpts);
      if (d.restart) rec.changed(`would restart docker (${d.restart})`);
    }
    return;
  }
  const managed = dockerManaged(h.spec, f);
  const forced = managed && dropInForcesDockerRestart(ctx, h, plan);
  // Docker's restart when it does not depend on subnet.env (its drop-in changed, or it is not running: from
  // nothing, both): in the start script's exec, and verify's probe after it, instead of an exec of each
  const known = managed ? dockerDecision(forced, undefined, docker, dockerOpts).restart : undefined;
  let restartedWith: string | undefined;
  if (takeover || plan.daemonReload || plan.enableAgent || plan.restartAgent || !readyFromFacts(h) || known) {
    const probe = known && ctx.state.verify === true ? { image: PROBE_IMAGE, name: PROBE_NAME } : undefined;
    const r = await h.remote().run(startScript(plan, takeover, h.spec.flannel.healthzPort, READY_TIMEOUT_S, { ...(known ? { restart: true } : {}), ...(probe ? { probe } : {}) }),
      { timeoutMs: (READY_TIMEOUT_S + (known ? 180 : 60)) * 1000 });
    if (plan.daemonReload) rec.changed('systemctl daemon-reload');
    if (plan.enableAgent) rec.changed('flanneld enabled');
    if (plan.restartAgent) rec.changed(`flanneld restarted (${plan.restartAgent})`);
    const s = parseSections(r.stdout);
    if (section(s, 'docker_restarted')) {
      recordDockerRestart(h, rec, known!);
      restartedWith = known;
    }
    if (r.code === DOCKER_RESTART_FAILED_EXIT && restartedWith) throw new StepFailedError(`restarting docker failed: ${r.stderr.trim()}`, h.name);
    if (r.code !== 0) throw new StepFailedError(`starting flanneld failed: ${r.stderr.trim() || `exit ${r.code}`}`, h.name);
    const ready = section(s, 'ready')?.body.trim() === 'yes';
    const { status } = readAgentStatus(section(s, 'status')?.body);
    if (status) f.agent.status = status;
    const se = section(s, 'subnet_env')?.body;
    if (se?.trim()) h.facts.subnetEnv = parseSubnetEnv(se);
    docker = parseDockerState(r.stdout);
    if (!ready) {
      throw new StepFailedError(`flanneld is ${section(s, 'active')?.body.trim() || 'not active'} and not ready after ${READY_TIMEOUT_S} s (journalctl -u flanneld on the host)`, h.name);
    }
    if (probe) {
      const p = parseProbe('docker', r.stdout);
      if (p) h.facts.startProbe = p;
    }
  } else {
    h.facts.subnetEnv = f.subnetEnv;
  }
  h.facts.agentReady = true;

  if (!managed) return;
  if (restartedWith) return checkRestartedDocker(h, docker);
  const decision = dockerDecision(forced, h.facts.subnetEnv, docker, dockerOpts);
  if (decision.note) rec.info(decision.note);
  const why = decision.restart;
  if (!why) return;
  const r = await h.remote().run(dockerRestartScript({ daemonReload: !plan.daemonReload }), { timeoutMs: 120_000 });
  recordDockerRestart(h, rec, why);
  if (r.code !== 0) throw new StepFailedError(`restarting docker failed: ${r.stderr.trim()}`, h.name);
  checkRestartedDocker(h, parseDockerState(r.stdout));
}

/** Docker was restarted (in the start script's exec or its own): said, and known to verify (its probes). */
function recordDockerRestart(h: HostState, rec: HostRecorder, why: string): void {
  rec.changed(`docker restarted (${why})`);
  h.facts.dockerRestarted = true;
}

/** After a restart Docker must run on subnet.env's bridge address and MTU. */
function checkRestartedDocker(h: HostState, after: DockerNow): void {
  const still = dockerRestartReason(false, h.facts.subnetEnv, after);
  if (still) throw new StepFailedError(`docker restarted but ${still}`, h.name);
}

/** Probes the start script started that verify did not take over (a later phase failed): removed. */
async function removeStartProbes(ctx: PhaseContext): Promise<void> {
  await Promise.all(ctx.hosts.map(async (h) => {
    if (!h.facts.startProbe) return;
    delete h.facts.startProbe;
    await h.conn?.run(probeRemoveScript('docker', { background: true }), { timeoutMs: 30_000 }).catch(() => undefined);
  }));
}

export const startPhase: Phase = {
  title: 'Start',
  dryRun: (ctx) => ctx.forEachHost((h, rec) => startHost(ctx, h, rec)),
  run: (ctx) => ctx.forEachHost((h, rec) => startHost(ctx, h, rec)),
  cleanUp: removeStartProbes,
};
