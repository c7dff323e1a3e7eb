/**
 * A `cni` host's containers at a new MTU, in place (no restart, same addresses): the cni0 bridge, the
 * host side of each container's veth, and the container's own interface, found through the plugin's
 * sandbox records (<dataDir>/.sandbox/<id>: netns path and interface name, written at ADD). Order keeps
 * full-size packets flowing: when the MTU shrinks, the bridge and the containers first (they stop sending
 * what no longer fits), the veths last; when it grows, the veths and containers first, the bridge last.
 * Each container's stored delegate config gets the new MTU too (what a new ADD would write). Whatever
 * cannot be changed is reported with why (a netns that is gone, an interface that is not there, a veth
 * on cni0 that no recorded container owns: its host side is changed, its container side cannot be).
 */
import { CNI_BRIDGE, CNI_STATE_DIR } from '../../network/cni.js';
import { SEC_FN, parseSections, section, shq } from '../../remote/sections.js';

export interface MtuChange {
  from?: number;
  to: number;
  /** why it was not changed */
  error?: string;
}

export interface ContainerMtuChange extends MtuChange {
  id: string;
  ifname: string;
  /** the host side of its veth */
  veth?: string;
}

export interface CniMtuReport {
  /** undefined: there is no bridge (no container was ever started): nothing to change */
  bridge?: MtuChange;
  containers: ContainerMtuChange[];
  /** veths on the bridge that no recorded container owns (changed on the host side only) */
  orphans: (MtuChange & { name: string })[];
}

/** The script (bash, as root). Sections: `cni_mtu` with one line per object; see parseCniMtu. */
export function cniMtuScript(mtu: number, o: { dataDir?: string; bridge?: string } = {}): string {
  const dd = shq(o.dataDir ?? CNI_STATE_DIR);
  const br = shq(o.bridge ?? CNI_BRIDGE);
  return `${SEC_FN}
export LC_ALL=C
m=${mtu}; br=${br}; dd=${dd}
sec cni_mtu
[ -d "/sys/class/net/$br" ] || { echo "nobridge"; exit 0; }
brmtu=$(cat "/sys/class/net/$br/mtu")
if [ "$m" -lt "$brmtu" ]; then shrink=1; else shrink=0; fi
setbr() { if e=$(ip link set dev "$br" mtu "$m" 2>&1); then echo "bridge $brmtu ok"; else echo "bridge $brmtu $e"; fi; }
[ $shrink = 1 ] && setbr
owned=" "
for f in "$dd"/.sandbox/*; do
  [ -f "$f" ] || continue
  id=\${f##*/}; s=$(cat "$f")
  ns=$(sed -n 's/.*"netns":"\\([^"]*\\)".*/\\1/p' <<<"$s"); ifn=$(sed -n 's/.*"ifname":"\\([^"]*\\)".*/\\1/p' <<<"$s")
  if [ -z "$ns" ] || [ ! -e "$ns" ]; then echo "container $id $ifn - - the network namespace \${ns:-(none recorded)} is gone (the container ended without a CNI DEL)"; continue; fi
  if ! l=$(nsenter --net="$ns" ip -o link show dev "$ifn" 2>&1); then echo "container $id $ifn - - no $ifn in $ns: \${l//$'\\n'/ }"; continue; fi
  old=$(sed -n 's/.* mtu \\([0-9]*\\) .*/\\1/p' <<<"$l"); idx=$(sed -n 's/^[0-9]*: [^@:]*@if\\([0-9]*\\):.*/\\1/p' <<<"$l")
  veth=; [ -n "$idx" ] && veth=$(ip -o link show | awk -F': ' -v i="$idx" '$1 == i { sub(/@.*/, "", $2); print $2 }')
  [ -n "$veth" ] && owned="$owned$veth "
  err=
  setc() { e=$(nsenter --net="$ns" ip link set dev "$ifn" mtu "$m" 2>&1) || err="$err container side: $e;"; }
  setv() { [ -z "$veth" ] && { err="$err no host-side veth found (peer index \${idx:-unknown});"; return; }; e=$(ip link set dev "$veth" mtu "$m" 2>&1) || err="$err $veth: $e;"; }
  if [ $shrink = 1 ]; then setc; setv; else setv; setc; fi
  [ -f "$dd/$id" ] && grep -q '"mtu":[0-9]' "$dd/$id" && sed "s/\\"mtu\\":[0-9]*/\\"mtu\\":$m/" "$dd/$id" > "$dd/.$id.mtu" && mv -f "$dd/.$id.mtu" "$dd/$id"
  echo "container $id $ifn \${veth:--} \${old:--} \${err:-ok}"
done
for p in $(ip -o link show master "$br" | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
  case "$owned" in *" $p "*) continue;; esac
  pm=$(cat "/sys/class/net/$p/mtu" 2>/dev/null)
  if e=$(ip link set dev "$p" mtu "$m" 2>&1); then echo "orphan $p \${pm:--} ok"; else echo "orphan $p \${pm:--} $e"; fi
done
[ $shrink = 0 ] && setbr
true
`;
}

const num = (s: string | undefined): number | undefined => (s && /^\d+$/.test(s) ? Number(s) : undefined);

export function parseCniMtu(stdout: string, mtu: number): CniMtuReport {
  const body = section(parseSections(stdout), 'cni_mtu')?.body ?? '';
  const out: CniMtuReport = { containers: [], orphans: [] };
  const change = (from: string | undefined, status: string): MtuChange => ({
    ...(num(from) !== undefined ? { from: num(from)! } : {}), to: mtu, ...(status === 'ok' ? {} : { error: status.trim() || 'failed' }),
  });
  for (const line of body.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const w = line.split(' ');
    if (w[0] === 'bridge') out.bridge = change(w[1], w.slice(2).join(' '));
    else if (w[0] === 'container') {
      const [, id = '', ifname = '', veth = '-', from, ...rest] = w;
      out.containers.push({ id, ifname, ...(veth !== '-' ? { veth } : {}), ...change(from, rest.join(' ')) });
    } else if (w[0] === 'orphan') out.orphans.push({ name: w[1] ?? '', ...change(w[2], w.slice(3).join(' ')) });
  }
  return out;
}

/** One line per thing that could not be changed, and the count of what was. */
export function describeCniMtu(r: CniMtuReport): { changed: string[]; problems: string[] } {
  const changed: string[] = [];
  const problems: string[] = [];
  const short = (id: string) => id.slice(0, 12);
  if (r.bridge) {
    if (r.bridge.error) problems.push(`bridge: MTU ${r.bridge.from ?? '?'} → ${r.bridge.to} failed: ${r.bridge.error}`);
    else if (r.bridge.from !== r.bridge.to) changed.push(`bridge MTU ${r.bridge.from ?? '?'} → ${r.bridge.to}`);
  }
  const moved = r.containers.filter((c) => !c.error && c.from !== c.to);
  if (moved.length) changed.push(`${moved.length} container${moved.length > 1 ? 's' : ''} (interface and veth) MTU → ${moved[0]!.to} in place`);
  for (const c of r.containers.filter((x) => x.error)) problems.push(`container ${short(c.id)} (${c.ifname || '?'}): ${c.error}`);
  for (const o of r.orphans) {
    if (o.error) problems.push(`veth ${o.name} on the bridge: ${o.error}`);
    else problems.push(`veth ${o.name} on the bridge belongs to no container in the plugin's state: its host side is at MTU ${o.to}, its container side is not (restart that container)`);
  }
  return { changed, problems };
}
