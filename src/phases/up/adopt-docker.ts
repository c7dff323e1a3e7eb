/**
 * Phase — Adopt Docker (`up --adopt`, issue 9.2): on a hand-built host, take the flannel-specific flags out
 * of Docker's own sources (environment files' DOCKER_OPTS, daemon.json; shared/docker-adoption.ts has the
 * rules) so that flanprov's drop-in is their one source; a backup of every edited file is written next to it
 * first (an existing backup is kept: it holds the oldest state). Runs before Install units; whether Docker
 * restarts is decided in Start by the bridge it runs with (dockerRestartNeededAfterAdoption).
 */
import type { HostState, Phase, PhaseContext } from '../framework/types.js';
import type { StartPlan } from '../shared/changes.js';
import { StepFailedError } from '../../util/errors.js';
import { inlineFileParams, type InlineFileParams } from '../../remote/upload.js';
import { remoteScript } from '../../remote/remote-script.js';
import { RemotePaths } from '../../inventory/types.js';
import { dockerManaged } from '../shared/preflight.js';
import { gathered } from '../shared/host-state.js';
import { planDockerAdoption, type DockerFileEdit } from '../shared/docker-adoption.js';
import '../shared/adopt-check.js'; // RunState.adopt

declare module '../../remote/remote-script.js' {
  interface RemoteScripts { 'adopt-docker': InlineFileParams & { BACKUP_FROM: string[]; BACKUP_TO: string[]; REMOVE: string[] } }
}

function editsFor(h: HostState): DockerFileEdit[] {
  const f = gathered(h);
  return dockerManaged(h.spec, f) ? planDockerAdoption(f.docker.sources).edits : [];
}

/** The host script (src/remote/scripts/adopt-docker.sh): keep a backup (mode and owner too) unless one exists, then write the edited file. */
export function adoptDockerScript(edits: readonly DockerFileEdit[]): string {
  return remoteScript('adopt-docker', {
    BACKUP_FROM: edits.map((e) => e.path), BACKUP_TO: edits.map((e) => e.backup), REMOVE: edits.flatMap((e) => (e.moveTo ? [e.path] : [])),
    ...inlineFileParams(edits.map((e) => ({ path: e.moveTo ?? e.path, mode: 0o644, content: e.after }))),
  });
}

export const adoptDockerPhase: Phase = {
  title: 'Adopt Docker settings',
  shouldRun: (ctx) => !!ctx.state.adopt,
  async dryRun(ctx) {
    await ctx.forEachHost(async (h, rec) => {
      const edits = editsFor(h);
      if (!edits.length) rec.skip('no Docker setting to take over');
      for (const e of edits) rec.changed(`would edit ${e.path} (${e.why.join('; ')}), backup ${e.backup}`);
    });
  },
  async run(ctx) {
    await ctx.forEachHost(async (h, rec) => {
      const edits = editsFor(h);
      if (!edits.length) {
        rec.skip('no Docker setting to take over');
        return;
      }
      const r = await h.remote().run(adoptDockerScript(edits), { timeoutMs: 30_000 });
      if (r.code !== 0) throw new StepFailedError(`editing ${edits.map((e) => e.path).join(', ')} failed: ${r.stderr.trim()}`, h.name);
      for (const e of edits) rec.changed(`${e.path}: ${e.why.join('; ')} (backup ${e.backup})`);
    });
  },
};

/**
 * Whether a changed drop-in by itself means Docker must restart. With --adopt, the first drop-in on a host
 * whose dockerd was set up by hand does not: its running bridge and MTU are compared with subnet.env
 * instead (changes.ts dockerDecision), so running containers survive an adoption that keeps the subnet.
 */
export function dropInForcesDockerRestart(ctx: PhaseContext, h: HostState, plan: StartPlan): boolean {
  if (!plan.dockerDropInChanged) return false;
  return !(ctx.state.adopt && !gathered(h).files.has(RemotePaths.dockerDropIn));
}
