/**
 * The lab's names and addresses, derived from its name, index and size (docs/CONVENTIONS.md):
 * namespaces fpl-<name>-{sw,r,etcd,h1..N} (+ wan with --wan), root-namespace veth fpl<name>, underlay 198.18.k.0/24
 * (router .1, etcd .10, hosts .11.., the user's shell .254), routed subnet 198.19.k.0/24 for the last host.
 */
import { InvalidInputError } from '../util/errors.js';
import type { WanSpec } from './wan.js';
import type { Runtime } from './runtime.js';

export type Topology = 'l2' | 'routed';

export const NAME_RE = /^[a-z][a-z0-9]{0,5}$/;
export const MAX_HOSTS = 40;

export interface HostPlan {
  /** inventory name and hostname: h1..hN */
  name: string;
  /** network namespace and nspawn machine name: fpl-<lab>-hN */
  ns: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  /** true for the host behind the router (routed topology) */
  routed: boolean;
  /** container runtime (runtime.ts); absent in labs made before runtimes: docker */
  runtime?: Runtime;
}

export interface LabPlan {
  name: string;
  index: number;
  topology: Topology;
  swNs: string;
  routerNs: string;
  etcdNs: string;
  /** with --wan: the namespace between the root veth and the switch (wan.ts) */
  wanNs: string;
  wan?: WanSpec;
  /** --no-etcd: no lab etcd (and no etcd namespace); the inventory names an `etcd` group of hosts instead */
  noEtcd?: boolean;
  rootVeth: string;
  /** the lab's L2 underlay (198.18.k.0/24) and the routed subnet (198.19.k.0/24) */
  lanCidr: string;
  routedCidr: string;
  routerIp: string;
  routerRoutedIp: string;
  etcdIp: string;
  rootIp: string;
  hosts: HostPlan[];
}

export function validateName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new InvalidInputError(`invalid lab name "${name}"`, 'lab', 'a lowercase letter then up to 5 lowercase letters or digits (interface names derived from it must stay within 15 characters)');
  }
}

export function validateHosts(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_HOSTS) throw new InvalidInputError(`--hosts must be an integer from 1 to ${MAX_HOSTS}, got ${n}`, 'lab');
}

/** The hosts' inventory names and hostnames: h1..hN. */
export function hostNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `h${i + 1}`);
}

export function nsPrefix(name: string): string {
  return `fpl-${name}-`;
}

export interface PlanExtras {
  wan?: WanSpec;
  noEtcd?: boolean;
  /** per host, in order (default docker) */
  runtimes?: readonly Runtime[];
}

export function makePlan(name: string, index: number, topology: Topology, hostCount: number, extras: PlanExtras = {}): LabPlan {
  const lan = `198.18.${index}`;
  const lan2 = `198.19.${index}`;
  const hosts: HostPlan[] = hostNames(hostCount).map((hostName, k) => {
    const i = k + 1;
    // a single host cannot be "the other subnet" of nobody: routed needs at least 2 hosts (checked by the caller)
    const routed = topology === 'routed' && i === hostCount;
    return {
      name: hostName,
      ns: `${nsPrefix(name)}${hostName}`,
      ip: `${routed ? lan2 : lan}.${10 + i}`,
      prefixLen: 24,
      gateway: `${routed ? lan2 : lan}.1`,
      routed,
      runtime: extras.runtimes?.[k] ?? 'docker',
    };
  });
  return {
    name,
    index,
    topology,
    swNs: `${nsPrefix(name)}sw`,
    routerNs: `${nsPrefix(name)}r`,
    etcdNs: `${nsPrefix(name)}etcd`,
    wanNs: `${nsPrefix(name)}wan`,
    ...(extras.wan ? { wan: extras.wan } : {}),
    ...(extras.noEtcd ? { noEtcd: true } : {}),
    rootVeth: `fpl${name}`,
    lanCidr: `${lan}.0/24`,
    routedCidr: `${lan2}.0/24`,
    routerIp: `${lan}.1`,
    routerRoutedIp: `${lan2}.1`,
    etcdIp: `${lan}.10`,
    rootIp: `${lan}.254`,
    hosts,
  };
}

/** Every namespace of a lab (for teardown and for "is this name ours" checks). */
export function allNamespaces(plan: LabPlan): string[] {
  return [plan.swNs, plan.routerNs, ...(plan.noEtcd ? [] : [plan.etcdNs]), ...(plan.wan ? [plan.wanNs] : []), ...plan.hosts.map((h) => h.ns)];
}
