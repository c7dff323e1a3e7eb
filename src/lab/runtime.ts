/**
 * `lab up --runtime SPEC`: which container runtime each host has.
 *   docker          every host: Docker engine (the default)
 *   podman          every host: Podman with its CNI network backend, Debian's containernetworking-plugins,
 *                   and no Docker (units masked, binaries removed from the host's root)
 *   h2=podman       one host (the others keep the default, docker)
 *   podman,h1=docker  the default first, then exceptions; items are comma-separated
 * The inventory gets `flannel_runtime: cni` for Podman hosts (issue 15's name); Docker hosts get nothing
 * (flanprov's default runtime is docker).
 */
import { InvalidInputError } from '../util/errors.js';

export const RUNTIMES = ['docker', 'podman'] as const;
export type Runtime = (typeof RUNTIMES)[number];

function asRuntime(v: string, item: string): Runtime {
  if ((RUNTIMES as readonly string[]).includes(v)) return v as Runtime;
  throw new InvalidInputError(`--runtime: "${v}" in "${item}" is not a runtime (${RUNTIMES.join(', ')})`, '--runtime');
}

/** Runtime per host name, in the order of `hostNames`. */
export function parseRuntimes(spec: string, hostNames: readonly string[]): Runtime[] {
  let dflt: Runtime = 'docker';
  const per = new Map<string, Runtime>();
  const items = spec.split(',').map((s) => s.trim());
  if (items.some((i) => i === '')) throw new InvalidInputError(`--runtime: empty item in "${spec}"`, '--runtime', 'e.g. podman, or h2=podman, or podman,h1=docker');
  let sawDefault = false;
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq < 0) {
      if (sawDefault) throw new InvalidInputError(`--runtime: two defaults in "${spec}"`, '--runtime', 'name one runtime for all hosts, then HOST=RUNTIME exceptions');
      sawDefault = true;
      dflt = asRuntime(item, item);
      continue;
    }
    const host = item.slice(0, eq);
    if (!hostNames.includes(host)) throw new InvalidInputError(`--runtime: no host "${host}" in this lab (hosts: ${hostNames.join(', ')})`, '--runtime');
    if (per.has(host)) throw new InvalidInputError(`--runtime: ${host} is named twice`, '--runtime');
    per.set(host, asRuntime(item.slice(eq + 1), item));
  }
  return hostNames.map((h) => per.get(h) ?? dflt);
}

/** The inverse, for `lab status` and the "made with other options" note: "docker", "podman", "docker,h2=podman". */
export function formatRuntimes(hostNames: readonly string[], runtimes: readonly Runtime[]): string {
  const count = (r: Runtime): number => runtimes.filter((x) => x === r).length;
  const dflt: Runtime = count('podman') > count('docker') ? 'podman' : 'docker';
  const ex = hostNames.flatMap((h, i) => (runtimes[i] !== dflt ? [`${h}=${runtimes[i]}`] : []));
  return [dflt, ...ex].join(',');
}
