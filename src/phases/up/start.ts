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
import { agentStatusCommand } from '../shared/facts.js';
import { readAgentStatus } from '../../network/agent-status.js';
import { dockerManaged } from '../shared/preflight.js';
import { dropInForcesDockerRestart } from './adopt-docker.js';
import { SEC_FN, jsonOr, parseSections, section } from '../../remote/sections.js';
import { gathered } from '../shared/host-state.js';
import { dockerRestartScript, dockerStateScript, parseDockerState } from '../shared/docker-state.js';
import './adopt-agent.js'; // HostFacts.takeover

declare module '../framework/types.js' {
  interface RunState {
    /** `up --raise-mtu`: restart Docker where its MTU is smaller than subnet.env's */
    raiseMtu?: boolean;
  }
}

/** Seconds to wait for the agent's /readyz. */
const READY_TIMEOUT_S = 60;

/** Polls /readyz (bash /dev/tcp), then prints the agent's state, subnet.env and Docker's state. */
export function readyScript(port: number, timeoutS = READY_TIMEOUT_S): string {
  const probe = `exec 3<>/dev/tcp/127.0.0.1/${port} && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && head -c 12 <&3`;
  return `ready=no
end=$((SECONDS + ${timeoutS}))
while [ $SECONDS -lt $end ]; do
  if timeout 1 bash -c '${probe.replace(/'/g, `'\\''`)}' 2>/dev/null | grep -q ' 200'; then ready=yes; break; fi
  sleep 0.1
done
sec ready; echo $ready
sec active; systemctl is-active flanneld.service
sec subnet_env; cat /run/flannel/subnet.env 2>/dev/null
sec status; ${agentStatusCommand(port)}
${dockerStateScript()}true
`;
}

/** The agent commands the plan asks for (empty when nothing is to be done). */
export function agentCommands(plan: StartPlan): string[] {
  const c: string[] = [];
  if (plan.daemonReload) c.push('systemctl daemon-reload');
  if (plan.enableAgent) c.push('systemctl enable -q flanneld.service');
  if (plan.restartAgent) c.push('systemctl reset-failed flanneld.service 2>/dev/null; systemctl restart flanneld.service || { systemctl status --no-pager -n 20 flanneld.service >&2; exit 3; }');
  return c;
}

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
  const cmds = takeover ? [takeover, ...agentCommands(plan)] : agentCommands(plan);
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
  if (cmds.length || !readyFromFacts(h)) {
    const r = await h.remote().run(`${SEC_FN}\nset -o pipefail\n${cmds.join('\n')}\n${readyScript(h.spec.flannel.healthzPort)}`, { timeoutMs: (READY_TIMEOUT_S + 60) * 1000 });
    if (plan.daemonReload) rec.changed('systemctl daemon-reload');
    if (plan.enableAgent) rec.changed('flanneld enabled');
    if (plan.restartAgent) rec.changed(`flanneld restarted (${plan.restartAgent})`);
    if (r.code !== 0) throw new StepFailedError(`starting flanneld failed: ${r.stderr.trim() || `exit ${r.code}`}`, h.name);
    const s = parseSections(r.stdout);
    const ready = section(s, 'ready')?.body.trim() === 'yes';
    const { status } = readAgentStatus(section(s, 'status')?.body);
    if (status) f.agent.status = status;
    const se = section(s, 'subnet_env')?.body;
    if (se?.trim()) h.facts.subnetEnv = parseSubnetEnv(se);
    docker = parseDockerState(r.stdout);
    if (!ready) {
      throw new StepFailedError(`flanneld is ${section(s, 'active')?.body.trim() || 'not active'} and not ready after ${READY_TIMEOUT_S} s (journalctl -u flanneld on the host)`, h.name);
    }
  } else {
    h.facts.subnetEnv = f.subnetEnv;
  }
  h.facts.agentReady = true;

  if (!dockerManaged(h.spec, f)) return;
  const decision = dockerDecision(dropInForcesDockerRestart(ctx, h, plan), h.facts.subnetEnv, docker, dockerOpts);
  if (decision.note) rec.info(decision.note);
  const why = decision.restart;
  if (!why) return;
  const r = await h.remote().run(`${SEC_FN}\n${plan.daemonReload ? '' : 'systemctl daemon-reload\n'}${dockerRestartScript()}`, { timeoutMs: 120_000 });
  rec.changed(`docker restarted (${why})`);
  h.facts.dockerRestarted = true;
  if (r.code !== 0) throw new StepFailedError(`restarting docker failed: ${r.stderr.trim()}`, h.name);
  const after = parseDockerState(r.stdout);
  const still = dockerRestartReason(false, h.facts.subnetEnv, after);
  if (still) throw new StepFailedError(`docker restarted but ${still}`, h.name);
}

export const startPhase: Phase = {
  title: 'Start',
  dryRun: (ctx) => ctx.forEachHost((h, rec) => startHost(ctx, h, rec)),
  run: (ctx) => ctx.forEachHost((h, rec) => startHost(ctx, h, rec)),
};
