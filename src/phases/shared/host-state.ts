/**
 * What the `up` phases learn about each host and hand to the next phase (typed through the framework's
 * HostFacts augmentation), plus small helpers they share.
 */
import type { HostFacts as GatheredFacts } from './facts.js';
import type { ChosenInterface } from './iface.js';
import type { DesiredFile, StartPlan } from './changes.js';
import type { PreviousSubnetEnv } from '../../network/subnet-env.js';
import type { Probe, ProbeKind } from './ping-matrix.js';
import type { HostState, PhaseContext } from '../framework/types.js';
import type { NetworkConfig } from '../../network/types.js';
import { validateNetworkConfig } from '../../network/config.js';
import { InvalidInputError } from '../../util/errors.js';

declare module '../framework/types.js' {
  interface HostFacts {
    /** everything the facts script found */
    gathered?: GatheredFacts;
    /** the underlay interface the agent will use */
    iface?: ChosenInterface;
    /** why no interface could be chosen */
    ifaceError?: string;
    /** files `up` manages on the host, rendered for it */
    desired?: DesiredFile[];
    /** files written by this run */
    written?: DesiredFile[];
    /** the agent binary was replaced by this run */
    binaryChanged?: boolean;
    startPlan?: StartPlan;
    /** subnet.env after the agent is ready */
    subnetEnv?: PreviousSubnetEnv;
    agentReady?: boolean;
    /** Docker was restarted by this run (its containers, an early probe too, are gone) */
    dockerRestarted?: boolean;
    probe?: Probe;
    /** a probe container started by the facts script (verify.ts setEarlyProbe): its status (3: no runtime; null: unknown) and output */
    earlyProbe?: Promise<{ code: number | null; stdout: string } | undefined>;
    /** what the early probe is (a Docker or a Podman container) */
    earlyProbeKind?: ProbeKind;
  }
  interface RunState {
    /** the inventory's network config, validated once per run (networkConfig()) */
    networkConfig?: NetworkConfig;
  }
}

/** The facts of a host; throws an internal error when the facts phase has not run. */
export function gathered(h: HostState): GatheredFacts {
  const g = h.facts.gathered;
  if (!g) throw new Error(`internal: no facts for ${h.name} (the facts phase has not run)`);
  return g;
}

/** The inventory's network config, validated by the agent's own validator (cached per run). */
export function networkConfig(ctx: PhaseContext): NetworkConfig {
  if (ctx.state.networkConfig) return ctx.state.networkConfig;
  const v = validateNetworkConfig(ctx.cluster.networkConfig);
  if (!v.ok) throw new InvalidInputError(`invalid network config: ${v.error}`, ctx.cluster.inventoryFile);
  ctx.state.networkConfig = v.config;
  return v.config;
}
