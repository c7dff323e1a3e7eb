/**
 * Preflight for `flannel_runtime: cni` hosts (pure): the plugins the network needs are installed (the
 * agent is the flannel plugin; bridge, host-local and portmap come from the system), named with the Debian
 * package that has them; a network config that sorts before ours is named, since containerd, CRI-O and
 * kubelet use the first one (Podman picks by name); what stands where the plugin link goes is said.
 */
import { CNI_CONF_DIR, CNI_CONFLIST_NAME, CNI_PLUGINS_PACKAGE, CNI_REQUIRED_PLUGINS } from '../../network/cni.js';
import type { HostSpec } from '../../inventory/types.js';
import { cniPluginLink } from '../../inventory/host-files.js';
import { cniBinDirs, type CniFacts } from './cni-facts.js';
import type { Problem } from './preflight.js';

/** The file names libcni loads from a config directory (in this order: sorted by name). */
const CONFIG_FILE = /\.(conf|conflist|json)$/;

export function cniProblems(spec: HostSpec, agentPath: string, cni: CniFacts | undefined): Problem[] {
  const n = spec.name;
  if (!cni) return [{ severity: 'error', check: 'cni', hosts: [n], message: 'the CNI facts of this host are missing (internal: the facts phase did not read them)' }];
  const out: Problem[] = [];
  const missing = CNI_REQUIRED_PLUGINS.filter((p) => !cni.plugins.get(p)?.length);
  if (missing.length) {
    out.push({
      severity: 'error', check: 'cni-plugins', hosts: [n],
      message: `CNI plugin${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found in ${cniBinDirs(spec).join(' or ')}: the flannel network delegates to bridge with host-local addresses, and its conflist chains portmap; Debian's package ${CNI_PLUGINS_PACKAGE} has them (apt-get install ${CNI_PLUGINS_PACKAGE})`,
    });
  }
  const before = cni.confs.filter((f) => CONFIG_FILE.test(f) && f < CNI_CONFLIST_NAME);
  if (before.length) {
    out.push({
      severity: 'warning', check: 'cni-conf', hosts: [n],
      message: `${before.map((f) => `${CNI_CONF_DIR}/${f}`).join(', ')} sort${before.length > 1 ? '' : 's'} before ${CNI_CONFLIST_NAME}: runtimes that take the first network config (containerd, CRI-O, kubelet) will not use flannel; Podman picks by name (--network ${spec.flannel.cni.network})`,
    });
  }
  const link = cniPluginLink(spec);
  if (cni.link?.kind === 'file') {
    out.push({ severity: 'warning', check: 'cni-link', hosts: [n], message: `${link} is a file (a flannel plugin copied by hand?): up replaces it with a link to ${agentPath}; the plugin state in /var/lib/cni/flannel is compatible` });
  } else if (cni.link?.kind === 'symlink' && cni.link.target !== agentPath) {
    out.push({ severity: 'warning', check: 'cni-link', hosts: [n], message: `${link} points to ${cni.link.target}: up points it to ${agentPath}` });
  }
  return out;
}
