/**
 * The etcd phases of `up` for a cluster flanprov runs (docs/etcd.md), in order: facts (before the nodes'
 * facts, so preflight can read the config through a cluster that answers), then after preflight: plan
 * (refusals), certificates, binary, files, start. Each skips itself unless the inventory has a managed etcd.
 */
import type { Phase } from '../framework/types.js';
import { etcdFactsPhase } from './facts.js';
import { etcdPlanPhase } from './plan.js';
import { etcdPkiPhase } from './pki.js';
import { etcdBinaryPhase } from './binary.js';
import { etcdFilesPhase } from './files.js';
import { etcdStartPhase } from './start.js';

export { etcdFactsPhase };

/** After preflight, before the network config is seeded. */
export const ETCD_UP_PHASES: Phase[] = [etcdPlanPhase, etcdPkiPhase, etcdBinaryPhase, etcdFilesPhase, etcdStartPhase];
