/**
 * Phase 6 — Install units: the files rendered for each host from templates/ (inventory/host-files.ts, the
 * same renderer as `flanprov render`: flanneld.service, the Docker drop-in, the agent's environment file,
 * etcd TLS files) are written only when their content or mode differs, all in one script per host
 * (remote/upload.ts: each through a temporary name, checked on the host, then renamed). What was written decides, in Start, what is reloaded and restarted.
 */
import type { HostState, Phase } from '../framework/types.js';
import { StepFailedError } from '../../util/errors.js';
import { renderHostFiles } from '../../inventory/host-files.js';
import { endpointsOnlyChange, planFiles, type DesiredFile } from '../shared/changes.js';
import { dockerManaged } from '../shared/preflight.js';
import { writeFilesScript } from '../../remote/upload.js';
import { gathered } from '../shared/host-state.js';
import { stripOwnedFlags } from '../shared/docker-adoption.js';

/**
 * The files `up` writes on this host: the templates with the host's facts — the Docker drop-in only where
 * flanprov manages Docker, built on the host's own dockerd command line (its docker.service without our
 * drop-in), so local flags survive.
 */
export function hostFiles(h: HostState): DesiredFile[] {
  const f = gathered(h);
  const docker = dockerManaged(h.spec, f);
  if (docker && !f.docker.execStart) throw new StepFailedError("cannot read dockerd's ExecStart from docker.service (systemctl cat docker.service)", h.name);
  return renderHostFiles({ host: h.spec, docker, ...(docker ? { dockerdCommand: stripOwnedFlags(f.docker.execStart!) } : {}) });
}

function desired(h: HostState): DesiredFile[] {
  if (!h.facts.desired) h.facts.desired = hostFiles(h);
  return h.facts.desired;
}

export const installUnitsPhase: Phase = {
  title: 'Install units',
  async dryRun(ctx) {
    await ctx.forEachHost(async (h, rec) => {
      const { write } = planFiles(desired(h), gathered(h).files);
      h.facts.written = write;
      for (const f of write) rec.changed(`would write ${f.path}`);
    });
  },
  async run(ctx) {
    await ctx.forEachHost(async (h, rec) => {
      const files = gathered(h).files;
      const write = planFiles(desired(h), files).write.map((f) => {
        const before = f.role === 'agent-unit' ? files.get(f.path)?.content : undefined;
        if (!before || !endpointsOnlyChange(before, f.content)) return f;
        rec.info(`${f.path}: only the etcd endpoints changed; the running agent keeps its list (it reaches etcd through any member) until its next restart`);
        return { ...f, keepsRunning: true };
      });
      h.facts.written = write;
      if (!write.length) {
        rec.skip('all files up to date');
        return;
      }
      const r = await h.remote().run(writeFilesScript(write), { timeoutMs: 30_000 });
      if (r.code !== 0) throw new StepFailedError(`writing ${write.map((f) => f.path).join(', ')} failed: ${r.stderr.trim()}`, h.name);
      for (const f of write) rec.changed(`${f.path} written`);
    });
  },
};
