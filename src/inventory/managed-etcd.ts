/**
 * The inventory side of an etcd cluster flanprov runs itself (docs/etcd.md): when the inventory has a group
 * `etcd` and no `flannel_etcd_endpoints`, its hosts are the members. Settings (all optional):
 * `flannel_etcd_tls` (default true), `flannel_etcd_pki_dir` (default `<inventory>.etcd-pki` next to the
 * inventory), and per member `flannel_etcd_address` (default ansible_host, which must then be an IPv4
 * address), `flannel_etcd_install` (auto | package | push) and `flannel_etcd_binary` (the controller's
 * etcd to push; default `etcd` on the controller's PATH).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, delimiter, extname, join } from 'node:path';
import { clientUrl } from '../etcd/member-layout.js';
import { pkiLayout } from '../etcd/pki-store.js';
import { parseIpv4 } from '../network/ipv4.js';
import type { VarDef } from './model.js';
import { effectiveVar } from './connection-vars.js';
import type { IssueList } from './errors.js';
import type { EtcdInstallMode, EtcdMemberSpec, HostSpec, ManagedEtcdSpec, SourcePos } from './types.js';

export interface ManagedEtcdDraft {
  tls: boolean;
  pkiDir: string;
  members: { name: string; address: string }[];
}

/** Settings an inventory may not combine with a managed etcd: flanprov makes the TLS files itself. */
const CONFLICTING = ['flannel_etcd_cafile', 'flannel_etcd_certfile', 'flannel_etcd_keyfile', 'flannel_etcd_username'];

export interface ReadInput {
  /** the `etcd` group's hosts, in inventory order */
  memberNames: readonly string[];
  /** every host's merged variables */
  resolved: ReadonlyMap<string, ReadonlyMap<string, VarDef>>;
  /** the reference node's variables (cluster-wide settings) */
  refVars: ReadonlyMap<string, VarDef>;
  inventoryFile: string;
  expand: (p: string) => string;
  issues: IssueList;
  groupPos: SourcePos | undefined;
}

/** The default PKI directory: `<inventory stem>.etcd-pki` next to the inventory. */
export function defaultPkiDir(inventoryFile: string, dir: string): string {
  return join(dir, `${basename(inventoryFile, extname(inventoryFile))}.etcd-pki`);
}

export function readManagedEtcd(inp: ReadInput, baseDir: string): ManagedEtcdDraft {
  const { issues } = inp;
  const tls = (inp.refVars.get('flannel_etcd_tls')?.value as boolean | undefined) ?? true;
  const pkiVar = inp.refVars.get('flannel_etcd_pki_dir')?.value as string | undefined;
  const pkiDir = pkiVar !== undefined ? inp.expand(pkiVar) : defaultPkiDir(inp.inventoryFile, baseDir);
  if (!inp.memberNames.length) issues.add('etcd', 'the group "etcd" has no hosts (flanprov runs the etcd cluster on them when flannel_etcd_endpoints is not set)', inp.groupPos);
  const members = inp.memberNames.map((name) => {
    const vars = inp.resolved.get(name)!;
    for (const k of CONFLICTING) {
      const d = vars.get(k);
      if (d) issues.add(k, 'flanprov runs this etcd cluster itself (group "etcd", no flannel_etcd_endpoints) and makes its TLS files: remove this setting, or set flannel_etcd_endpoints to use an etcd of your own', d.pos);
    }
    const given = vars.get('flannel_etcd_address');
    const address = String(given?.value ?? effectiveVar(vars as Map<string, VarDef>, 'host') ?? name);
    if (parseIpv4(address) === undefined) {
      issues.add(given ? 'flannel_etcd_address' : 'ansible_host', `etcd member ${name} needs an IPv4 address to listen on (etcd binds to addresses, not names): got "${address}"; set flannel_etcd_address`, (given ?? vars.get('ansible_host'))?.pos ?? inp.groupPos);
    }
    return { name, address };
  });
  const seen = new Map<string, string>();
  for (const m of members) {
    const other = seen.get(m.address);
    const vars = inp.resolved.get(m.name)!;
    const from = vars.get('flannel_etcd_address') ? 'flannel_etcd_address' : 'ansible_host';
    if (other) issues.add(from, `etcd members ${other} and ${m.name} have the same address ${m.address}`, vars.get(from)?.pos ?? inp.groupPos);
    seen.set(m.address, m.name);
  }
  return { tls, pkiDir, members };
}

export function managedEndpoints(d: ManagedEtcdDraft): string[] {
  return d.members.map((m) => clientUrl(m, d.tls));
}

/** A node's etcd TLS files when flanprov runs etcd with TLS: the CA and the node's own client certificate. */
export function agentTlsFiles(d: ManagedEtcdDraft, host: string): { etcdCaFile: string; etcdCertFile: string; etcdKeyFile: string } | undefined {
  if (!d.tls) return undefined;
  const l = pkiLayout(d.pkiDir);
  const a = l.agent(host);
  return { etcdCaFile: l.ca.cert, etcdCertFile: a.cert, etcdKeyFile: a.key };
}

export function controllerTlsFiles(d: ManagedEtcdDraft): { caFile: string; certFile: string; keyFile: string } | undefined {
  if (!d.tls) return undefined;
  const l = pkiLayout(d.pkiDir);
  return { caFile: l.ca.cert, certFile: l.controller.cert, keyFile: l.controller.key };
}

/** `name` on the controller's PATH (an executable file), like `command -v`. */
export function onPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const p = join(dir, name);
    try {
      if (existsSync(p) && statSync(p).isFile() && (statSync(p).mode & 0o111)) return p;
    } catch { /* unreadable dir */ }
  }
  return undefined;
}

/** The members with their host specs and binary settings, once every host's spec is built. */
export function finishManagedEtcd(
  d: ManagedEtcdDraft, specOf: (name: string) => HostSpec, varsOf: (name: string) => ReadonlyMap<string, VarDef>,
  expand: (p: string) => string, issues: IssueList, env: NodeJS.ProcessEnv,
): ManagedEtcdSpec {
  const dflt = onPath('etcd', env.PATH);
  const members: EtcdMemberSpec[] = d.members.map((m) => {
    const vars = varsOf(m.name);
    const host = specOf(m.name);
    const install = (vars.get('flannel_etcd_install')?.value as EtcdInstallMode | undefined) ?? 'auto';
    const bin = vars.get('flannel_etcd_binary');
    let binary = dflt;
    if (bin) {
      binary = expand(String(bin.value));
      if (!existsSync(binary)) issues.add('flannel_etcd_binary', `file not found: ${binary}`, bin.pos);
    }
    return { name: m.name, address: m.address, host, install, ...(binary ? { binary } : {}), binPath: `${host.flannel.binDir.replace(/\/+$/, '')}/etcd` };
  });
  return { members, tls: d.tls, pkiDir: d.pkiDir };
}
