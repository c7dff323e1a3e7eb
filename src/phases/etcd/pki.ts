/**
 * etcd certificates (controller only): issues what the PKI plan found missing, wrong or near its end — the
 * CA first when there is none — in the 0700 directory next to the inventory (etcd/pki-store.ts). Nothing is
 * written when every certificate is fine. The CA key is never read by anything that goes to a host.
 */
import type { Phase, PhaseContext } from '../framework/types.js';
import { applyPki } from '../../etcd/pki-store.js';
import { etcdChange, managedEtcd } from '../shared/etcd-members.js';
import './state.js';

function describe(ctx: PhaseContext, verb: string): string[] {
  const pki = ctx.state.etcdPlan?.pki;
  if (!pki) return [];
  const out: string[] = [];
  if (pki.fixDirMode !== undefined) out.push(`${pki.layout.dir} mode ${pki.fixDirMode.toString(8)} → 700`);
  if (pki.newCa) out.push(`${verb} a new etcd CA in ${pki.layout.dir} (${pki.newCa})`);
  for (const c of pki.issue) out.push(`${verb} ${c.spec.label} certificate (${c.why})`);
  return out;
}

export const etcdPkiPhase: Phase = {
  title: 'etcd: certificates',
  shouldRun: (ctx) => !!managedEtcd(ctx)?.tls,
  async dryRun(ctx) {
    for (const d of describe(ctx, 'would issue')) { ctx.log('info', d); etcdChange(ctx, d); }
  },
  async run(ctx) {
    const pki = ctx.state.etcdPlan?.pki;
    if (!pki || (!pki.issue.length && !pki.newCa && pki.fixDirMode === undefined)) return;
    const what = describe(ctx, 'issued');
    const t0 = Date.now();
    await applyPki(pki);
    ctx.log('info', `${what.join('; ')} (${Date.now() - t0} ms)`);
    for (const d of what) etcdChange(ctx, d);
  },
};
