/**
 * subnet.env as the CNI plugin reads it (the shared parser, network/subnet-env.ts): all of the network,
 * the host's subnet, the MTU and whether flanneld masquerades. No file yet means the agent has not got
 * its lease: the spec's "try again later" (11), naming the file; a file without a key is error 100.
 */
import { readFileSync } from 'node:fs';
import { missingSubnetEnvKeys, parseSubnetEnv } from '../../network/subnet-env.js';
import type { Ipv4Net } from '../../network/types.js';
import { CniError, CniErrorCode } from './spec.js';

export interface FlannelSubnet {
  network: Ipv4Net;
  /** the host's lease subnet (network address, e.g. 10.244.3.0/24) */
  subnet: Ipv4Net;
  mtu: number;
  /** flanneld masquerades traffic leaving the network (so the bridge must not) */
  ipMasq: boolean;
}

export function parseFlannelSubnet(text: string, file: string): FlannelSubnet {
  const e = parseSubnetEnv(text);
  const missing = missingSubnetEnvKeys(e);
  if (missing.length || !e.network || !e.subnet || e.mtu === undefined || e.ipMasq === undefined) {
    throw new CniError(CniErrorCode.SUBNET_FILE_INVALID, `${file} is missing ${missing.join(', ')}`, 'absent, or a value flannel would not write (FLANNEL_NETWORK/FLANNEL_SUBNET a.b.c.d/n, FLANNEL_MTU a number, FLANNEL_IPMASQ true|false)');
  }
  return { network: e.network, subnet: e.subnet, mtu: e.mtu, ipMasq: e.ipMasq };
}

export function readFlannelSubnet(file: string, read: (f: string) => string = (f) => readFileSync(f, 'utf8')): FlannelSubnet {
  let text: string;
  try {
    text = read(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new CniError(CniErrorCode.TRY_AGAIN_LATER, `${file} does not exist yet: flanneld has not written the host's subnet (is flanneld running?)`, `open ${file}: no such file or directory`);
    }
    throw new CniError(CniErrorCode.IO_FAILURE, `cannot read ${file}`, (e as Error).message);
  }
  return parseFlannelSubnet(text, file);
}
