/** Distinct connection errors, all exit code 3 (UnreachableError), each naming the host. */
import { UnreachableError } from '../util/errors.js';

export type ConnectFailure = 'unreachable' | 'auth' | 'host-key' | 'timeout';

export class ConnectError extends UnreachableError {
  constructor(readonly kind: ConnectFailure, message: string, where: string, hint?: string) {
    super(message, where, hint);
    this.name = 'ConnectError';
  }
}
