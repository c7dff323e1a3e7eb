/**
 * The `switch-backend` phase list: up's connect and facts, the switch's own preflight, then (measuring
 * if asked) write the config, wait for the agents, check the kernel, update the MTU, up's verification,
 * stop measuring, update the inventory, report. Each phase lives in its own file next to this one.
 */
import type { Phase } from '../framework/types.js';
import { connectPhase } from '../up/connect.js';
import { factsPhase } from '../up/facts.js';
import { verifyPhase } from '../up/verify.js';
import { switchPreflightPhase } from './preflight.js';
import { measureStartPhase } from './measure-start.js';
import { writeConfigPhase } from './write-config.js';
import { waitAgentsPhase } from './wait-agents.js';
import { checkDatapathPhase } from './check-datapath.js';
import { updateMtuPhase } from './update-mtu.js';
import { measureStopPhase } from './measure-stop.js';
import { updateInventoryPhase } from './update-inventory.js';
import { switchReportPhase } from './report.js';
import { switchRun } from './state.js';

/** up's verification, skipped when there was nothing to switch (and Docker was not restarted). */
const switchVerifyPhase: Phase = {
  ...verifyPhase,
  shouldRun: async (ctx) => {
    const run = switchRun(ctx);
    if (run.kind === 'noop' && !run.opts.raiseMtu) return false;
    return verifyPhase.shouldRun ? verifyPhase.shouldRun(ctx) : true;
  },
};

export const SWITCH_PHASES: Phase[] = [
  connectPhase, factsPhase, switchPreflightPhase, measureStartPhase, writeConfigPhase, waitAgentsPhase,
  checkDatapathPhase, updateMtuPhase, switchVerifyPhase, measureStopPhase, updateInventoryPhase, switchReportPhase,
];
