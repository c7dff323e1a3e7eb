/**
 * Phase 6 — Install units: the files rendered for each host (flanneld.service, the Docker drop-in, the
 * agent's environment file, etcd TLS files, ...) are written only when their content or mode differs, all
 * in one script per host (atomic: temporary name, then rename). What was written decides, in Start, what
 * is reloaded and restarted.
 */
import type { HostState, Phase, PhaseContext } from '../framework/types.js';
import { StepFailedError } from '../../util/errors.js';
import { planFiles, type DesiredFile } from '../shared/changes.js';
import { shq } from '../shared/sections.js';
import { gathered } from './state.js';

/** Renders the files `up` manages for one host (wired by the command from the render module). */
export type RenderHostFiles = (ctx: PhaseContext, h: HostState) => DesiredFile[] | Promise<DesiredFile[]>;

export function renderer(ctx: PhaseContext): RenderHostFiles {
  const r = ctx.shared.get('renderHostFiles') as RenderHostFiles | undefined;
  if (!r) throw new Error('internal: no renderer for the host files (renderHostFiles not set by the command)');
  return r;
}

/** One script that writes every file atomically with its mode (contents travel base64-encoded). */
export function writeFilesScript(files: readonly DesiredFile[]): string {
  const lines = ['set -e', 'umask 077'];
  for (const f of files) {
    const dir = f.path.slice(0, f.path.lastIndexOf('/')) || '/';
    const tmp = `${dir}/.${f.path.slice(dir.length + 1)}.flanprov-tmp`;
    lines.push(
      `install -d -m 0755 ${shq(dir)}`,
      `printf '%s' ${shq(Buffer.from(f.content).toString('base64'))} | base64 -d > ${shq(tmp)}`,
      `chmod ${f.mode.toString(8)} ${shq(tmp)}`,
      `mv -f ${shq(tmp)} ${shq(f.path)}`,
    );
  }
  return lines.join('\n') + '\n';
}

async function desired(ctx: PhaseContext, h: HostState): Promise<DesiredFile[]> {
  if (!h.facts.desired) h.facts.desired = await renderer(ctx)(ctx, h);
  return h.facts.desired;
}

export const installUnitsPhase: Phase = {
  title: 'Install units',
  async dryRun(ctx) {
    await ctx.forEachHost(async (h, rec) => {
      const { write } = planFiles(await desired(ctx, h), gathered(h).files);
      h.facts.written = write;
      for (const f of write) rec.changed(`would write ${f.path}`);
    });
  },
  async run(ctx) {
    await ctx.forEachHost(async (h, rec) => {
      const { write } = planFiles(await desired(ctx, h), gathered(h).files);
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
