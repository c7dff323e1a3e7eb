/** Backend lookup by the config's (lower-cased) Backend.Type. */
import { BACKEND_TYPES, FLANNEL_BACKENDS_NOT_IMPLEMENTED } from '../../network/backends.js';
import type { KernelTarget } from '../kernel/exec.js';
import type { Backend, BackendContext } from './backend.js';
import { HostGwBackend } from './host-gw.js';
import { VxlanBackend } from './vxlan.js';


export class UnsupportedBackendError extends Error {
  constructor(readonly backendType: string) {
    const known = (FLANNEL_BACKENDS_NOT_IMPLEMENTED as readonly string[]).includes(backendType);
    super(
      `backend type "${backendType}" is ${known ? 'a flannel backend this agent does not implement' : 'unknown'}; ` +
        `supported: ${BACKEND_TYPES.join(', ')}` +
        (backendType === 'udp' ? ' (the config has no Backend.Type, or it says "udp": set "Backend": {"Type": "vxlan"})' : ''),
    );
    this.name = 'UnsupportedBackendError';
  }
}

export interface CreateBackendOptions {
  /** tests: run every kernel command in this network namespace */
  target?: KernelTarget;
  /** vxlan: MAC for a newly created device (e.g. one persisted from an earlier run) */
  vtepMac?: string;
}

/** Creates the backend for `type` (case-insensitive). Throws UnsupportedBackendError for anything else. */
export function createBackend(type: string, ctx: BackendContext, opts: CreateBackendOptions = {}): Backend {
  const t = type.toLowerCase();
  switch (t) {
    case 'vxlan':
      return new VxlanBackend(ctx, { ...(opts.target ? { target: opts.target } : {}), ...(opts.vtepMac ? { mac: opts.vtepMac } : {}) });
    case 'host-gw':
      return new HostGwBackend(ctx, opts.target ? { target: opts.target } : {});
    default:
      throw new UnsupportedBackendError(t || '(empty)');
  }
}
