/**
 * The `switch-backend` phase list: up's connect and facts, the switch's own preflight, then (measuring
 * if asked) write the config, wait for the agents, check the kernel, update the MTU, up's verification,
 * stop measuring, update the inventory (planned right after preflight, so one that cannot be edited is refused
 * before anything changes), report. Each phase lives in its own file next to this one. With
 * nothing to switch (already on the target), the kernel check and the verification still run: the run
 * then proves the cluster is on the target (e.g. to finish an earlier --force).
 */
import type { Phase } from '../framework/types.js';
import { connectPhase } from '../shared/connect.js';
import { lockPhase } from '../shared/lock.js';
import { factsPhase } from '../shared/gather-facts.js';
import { verifyPhase } from '../shared/verify.js';
import { switchPreflightPhase } from './preflight.js';
import { measureStartPhase } from './measure-start.js';
import { writeConfigPhase } from './write-config.js';
import { waitAgentsPhase } from './wait-agents.js';
import { checkDatapathPhase } from './check-datapath.js';
import { updateMtuPhase } from './update-mtu.js';
import { measureStopPhase } from './measure-stop.js';
import { checkInventoryEditPhase, updateInventoryPhase } from './update-inventory.js';
import { switchReportPhase } from './report.js';

export const SWITCH_PHASES: Phase[] = [
  connectPhase, lockPhase('exclusive'), factsPhase, switchPreflightPhase, checkInventoryEditPhase, measureStartPhase, writeConfigPhase, waitAgentsPhase,
  checkDatapathPhase, updateMtuPhase, verifyPhase, measureStopPhase, updateInventoryPhase, switchReportPhase,
];
