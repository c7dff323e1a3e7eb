/**
 * Which etcd failures mean "etcd does not answer" (down, frozen, overloaded, unreachable) rather than "etcd
 * said no" (a failed compare, a permission): the CLI turns the first kind into an unreachable-etcd error
 * with the endpoint named; the agent into its disconnected state.
 */
import { loadEtcd3 } from './client.js';

export function isEtcdUnavailable(err: unknown): boolean {
  // an etcd error means a client was made, so etcd3 is loaded already (loadEtcd3 costs nothing then)
  const { GRPCDeadlineExceededError, GRPCUnavailableError } = loadEtcd3();
  if (err instanceof GRPCDeadlineExceededError || err instanceof GRPCUnavailableError) return true;
  // etcd3's circuit breaker (cockatiel) opens after repeated failures and then refuses calls at once
  const e = err as { name?: string; message?: string } | undefined;
  return e?.name === 'BrokenCircuitError' || /circuit breaker is open|DEADLINE_EXCEEDED|UNAVAILABLE|No connection established/.test(e?.message ?? '');
}
