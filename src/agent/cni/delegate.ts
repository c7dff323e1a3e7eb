/**
 * The delegate's network config, as flannel's plugin builds it from its own config and subnet.env: the
 * `delegate` options the conflist gives, then what flannel fills in where they are silent — type bridge,
 * the MTU from subnet.env, ipMasq the opposite of FLANNEL_IPMASQ (one owner of NAT: flanneld when it
 * masquerades, the bridge when it does not), the bridge as the containers' gateway and default gateway —
 * and always the network's name and version, and host-local IPAM on the host's subnet with a route to the
 * whole flannel network (via the bridge). Pure.
 *
 * One difference from flannel's plugin: isDefaultGateway defaults to true for bridge (a container needs a
 * way out, and kube-flannel's conflist sets it anyway); a conflist can still say false.
 */
import { firstHost, formatIpv4, formatNet } from '../../network/ipv4.js';
import type { FlannelNetConf } from './netconf.js';
import type { FlannelSubnet } from './subnet-file.js';

export const DEFAULT_DELEGATE_TYPE = 'bridge';
export const IPAM_TYPE = 'host-local';

export function buildDelegate(conf: FlannelNetConf, sub: FlannelSubnet): Record<string, unknown> {
  const given = conf.delegate;
  const type = typeof given.type === 'string' ? given.type : DEFAULT_DELEGATE_TYPE;
  const d: Record<string, unknown> = { cniVersion: conf.cniVersion, name: conf.name, type };
  for (const [k, v] of Object.entries(given)) if (k !== 'type') d[k] = v;
  if (!('ipMasq' in d)) d.ipMasq = !sub.ipMasq;
  if (!('mtu' in d)) d.mtu = sub.mtu;
  if (type === DEFAULT_DELEGATE_TYPE) {
    if (!('isGateway' in d)) d.isGateway = true;
    if (!('isDefaultGateway' in d)) d.isDefaultGateway = true;
  }
  // The route names its gateway (host-local's default one, the subnet's first address): the kernel gets
  // the same route either way, but bridge's CHECK compares the result's routes with the kernel's literally
  // and fails a route written without it.
  d.ipam = { type: IPAM_TYPE, subnet: formatNet(sub.subnet), routes: [{ dst: formatNet(sub.network), gw: formatIpv4(firstHost(sub.subnet)) }] };
  if (conf.runtimeConfig) d.runtimeConfig = conf.runtimeConfig;
  return d;
}

/** The subnet a stored delegate config allocates from (ipam.subnet), to tell whether the host's changed. */
export function delegateSubnet(d: Record<string, unknown>): string | undefined {
  const ipam = d.ipam as Record<string, unknown> | undefined;
  return typeof ipam?.subnet === 'string' ? ipam.subnet : undefined;
}
