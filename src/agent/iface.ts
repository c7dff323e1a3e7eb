/** The agent's external interface: the kernel's interfaces and default route, then network/iface-select.ts. */
import { defaultRouteInterface, listIpv4Interfaces } from './kernel/iproute2.js';
import type { KernelTarget } from './kernel/exec.js';
import type { Logger } from './backends/backend.js';
import { selectInterface, type ExternalInterface, type IfaceSelection } from '../network/iface-select.js';

export { IfaceError, selectInterface, type IfaceSelection } from '../network/iface-select.js';


/** Reads the kernel (`ip -j addr`, `ip -j route show default`) and selects. */
export async function lookupExtIface(sel: IfaceSelection, log: Logger, target?: KernelTarget): Promise<ExternalInterface> {
  const [ifaces, def] = await Promise.all([listIpv4Interfaces(target), defaultRouteInterface(target)]);
  return selectInterface(sel, ifaces, def?.dev, log);
}
