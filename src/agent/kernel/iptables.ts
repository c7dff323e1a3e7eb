/**
 * flannel's iptables rules (v0.20+ layout), byte-compatible so Go flanneld and this agent can clean up
 * after each other:
 *   nat    POSTROUTING → FLANNEL-POSTRTG (only with -ip-masq), comment "flanneld masq"
 *   filter FORWARD     → FLANNEL-FWD (accept to/from the Network; Docker sets FORWARD policy DROP),
 *          comment "flanneld forward"
 * Applied with one `iptables-restore -w --noflush` transaction per table: declaring our chain flushes it,
 * existing copies of the jump rule are deleted and the jump re-appended, so order is exact and nothing is
 * duplicated. Rules of a previous network/subnet are gone with the flush; rules of the pre-v0.20 layout
 * (directly in POSTROUTING/FORWARD with our comments) are deleted too.
 *
 * The periodic check parses `iptables-save -t <table>` (one process per table instead of one
 * `iptables -C` per rule) and re-bootstraps the table when anything is missing or out of order.
 */
import { formatNet } from '../../network/ipv4.js';
import type { Ipv4Net } from '../../network/types.js';
import { KernelTarget, run, runOk, targetArgv } from './exec.js';

export const MASQ_CHAIN = 'FLANNEL-POSTRTG';
export const FWD_CHAIN = 'FLANNEL-FWD';
export const MASQ_COMMENT = 'flanneld masq';
export const FWD_COMMENT = 'flanneld forward';
/** kube-proxy's masquerade mark: traffic it marked is NATed by kube-proxy, not by us */
export const KUBE_PROXY_MARK = '0x4000/0x4000';

export type Table = 'nat' | 'filter';

export interface IptablesParams {
  network: Ipv4Net;
  /** this node's lease subnet */
  subnet: Ipv4Net;
  /** -ip-masq */
  ipMasq: boolean;
  /** -iptables-forward-rules (default true) */
  forwardRules: boolean;
  /** MASQUERADE --random-fully (when iptables supports it and not disabled) */
  randomFully: boolean;
}

/** One table's wanted state: the jump from a built-in chain into our chain, and our chain's rules. */
export interface TableRules {
  table: Table;
  builtin: 'POSTROUTING' | 'FORWARD';
  chain: string;
  /** the jump rule, in iptables-save form without "-A <builtin> " */
  jump: string;
  /** our chain's rules, in iptables-save form without "-A <chain> " */
  rules: string[];
  comment: string;
}

const q = (c: string) => `-m comment --comment "${c}"`;

/** Where each rule set lives (table, built-in chain, our chain, our comment): the one place that says it. */
const MASQ_TABLE = { table: 'nat', builtin: 'POSTROUTING', chain: MASQ_CHAIN, comment: MASQ_COMMENT } as const;
const FWD_TABLE = { table: 'filter', builtin: 'FORWARD', chain: FWD_CHAIN, comment: FWD_COMMENT } as const;
const TABLE_DEFS = [MASQ_TABLE, FWD_TABLE] as const;

/** flannel's MasqRules (iptables-save normal form). */
export function masqRules(network: Ipv4Net, subnet: Ipv4Net, randomFully: boolean): TableRules {
  const N = formatNet(network);
  const S = formatNet(subnet);
  const c = q(MASQ_COMMENT);
  const masq = `-j MASQUERADE${randomFully ? ' --random-fully' : ''}`;
  return {
    ...MASQ_TABLE,
    jump: `${c} -j ${MASQ_CHAIN}`,
    rules: [
      `-m mark --mark ${KUBE_PROXY_MARK} ${c} -j RETURN`,
      `-s ${S} -d ${N} ${c} -j RETURN`,
      `-s ${N} -d ${S} ${c} -j RETURN`,
      `! -s ${N} -d ${S} ${c} -j RETURN`,
      `-s ${N} ! -d 224.0.0.0/4 ${c} ${masq}`,
      `! -s ${N} -d ${N} ${c} ${masq}`,
    ],
  };
}

/** flannel's ForwardRules. */
export function forwardRules(network: Ipv4Net): TableRules {
  const N = formatNet(network);
  const c = q(FWD_COMMENT);
  return {
    ...FWD_TABLE,
    jump: `${c} -j ${FWD_CHAIN}`,
    rules: [`-s ${N} ${c} -j ACCEPT`, `-d ${N} ${c} -j ACCEPT`],
  };
}

/** The rule sets wanted for these parameters (empty when neither masq nor forward rules are on). */
export function wantedRules(p: IptablesParams): TableRules[] {
  const out: TableRules[] = [];
  if (p.ipMasq) out.push(masqRules(p.network, p.subnet, p.randomFully));
  if (p.forwardRules) out.push(forwardRules(p.network));
  return out;
}

/** What `iptables-save -t <table>` says about our chain and the built-in chain. */
export interface SavedTable {
  chainExists: boolean;
  /** rules of our chain, without "-A <chain> " */
  chainRules: string[];
  /** rules of the built-in chain carrying our comment, without "-A <builtin> " */
  builtinOurs: string[];
}

export function parseSave(text: string, builtin: string, chain: string, comment: string): SavedTable {
  const res: SavedTable = { chainExists: false, chainRules: [], builtinOurs: [] };
  for (const line of text.split('\n')) {
    if (line.startsWith(`:${chain} `)) res.chainExists = true;
    else if (line.startsWith(`-A ${chain} `)) res.chainRules.push(line.slice(`-A ${chain} `.length));
    else if (line.startsWith(`-A ${builtin} `) && line.includes(`--comment "${comment}"`)) {
      res.builtinOurs.push(line.slice(`-A ${builtin} `.length));
    }
  }
  return res;
}

/** Whether the saved table holds exactly what is wanted (chain, rules in order, one jump, no legacy rules). */
export function tableIsCurrent(saved: SavedTable, want: TableRules): boolean {
  return (
    saved.chainExists &&
    saved.chainRules.length === want.rules.length &&
    saved.chainRules.every((r, i) => r === want.rules[i]) &&
    saved.builtinOurs.length === 1 &&
    saved.builtinOurs[0] === want.jump
  );
}

/**
 * The `iptables-restore --noflush` text that installs `want` given the saved state: declare (= create or
 * flush) our chain, delete every rule with our comment in the built-in chain (old jumps, pre-v0.20
 * rules), append the jump, then our rules.
 */
export function bootstrapText(saved: SavedTable, want: TableRules): string {
  const lines = [`*${want.table}`, `:${want.chain} - [0:0]`];
  for (const r of saved.builtinOurs) lines.push(`-D ${want.builtin} ${r}`);
  lines.push(`-A ${want.builtin} ${want.jump}`);
  for (const r of want.rules) lines.push(`-A ${want.chain} ${r}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** The restore text that removes our chain and every rule with our comment from the built-in chain. */
export function removeText(saved: SavedTable, t: Pick<TableRules, 'table' | 'builtin' | 'chain'>): string {
  const lines = [`*${t.table}`];
  for (const r of saved.builtinOurs) lines.push(`-D ${t.builtin} ${r}`);
  if (saved.chainExists) lines.push(`:${t.chain} - [0:0]`, `-X ${t.chain}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

export interface IptablesLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

/** Whether this iptables supports MASQUERADE --random-fully (iptables ≥ 1.6.2, as flannel checks). */
export async function supportsRandomFully(target?: KernelTarget): Promise<boolean> {
  const r = await run(targetArgv(target, ['iptables', '--version']));
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(r.stdout + r.stderr);
  if (!m) return false;
  const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return a > 1 || (a === 1 && (b > 6 || (b === 6 && c >= 2)));
}

/**
 * Installs, checks and removes flannel's rules. Call `apply(params)` once the lease is known, `check()`
 * periodically (flannel: every -iptables-resync seconds, default 5), `remove()` on teardown.
 */
export class IptablesManager {
  private params: IptablesParams | undefined;

  constructor(
    private readonly log: IptablesLogger,
    private readonly target?: KernelTarget,
  ) {}

  private async save(table: Table): Promise<string> {
    return runOk(targetArgv(this.target, ['iptables-save', '-t', table]));
  }

  private async restore(text: string): Promise<void> {
    await runOk(targetArgv(this.target, ['iptables-restore', '-w', '5', '--noflush']), text);
  }

  /** Installs the rules for `p`; tables whose rules are turned off are cleaned of ours. */
  async apply(p: IptablesParams): Promise<void> {
    this.params = p;
    const want = wantedRules(p);
    for (const def of TABLE_DEFS) {
      const w = want.find((x) => x.table === def.table);
      const saved = parseSave(await this.save(def.table), def.builtin, def.chain, def.comment);
      if (w) {
        if (!tableIsCurrent(saved, w)) await this.restore(bootstrapText(saved, w));
      } else if (saved.chainExists || saved.builtinOurs.length) {
        await this.restore(removeText(saved, def));
        this.log.info(`iptables: removed ${def.chain} (${def.table}): no longer enabled`);
      }
    }
    this.log.info('iptables: bootstrap done');
  }

  /**
   * Verifies the rules are still in place; re-bootstraps a table when anything is missing or changed.
   * Returns the tables that had to be repaired (empty = all fine).
   */
  async check(): Promise<Table[]> {
    if (!this.params) return [];
    const repaired: Table[] = [];
    for (const w of wantedRules(this.params)) {
      const saved = parseSave(await this.save(w.table), w.builtin, w.chain, w.comment);
      if (tableIsCurrent(saved, w)) continue;
      this.log.warn(`Some iptables rules are missing (${w.table} ${w.chain}); deleting and recreating rules`);
      await this.restore(bootstrapText(saved, w));
      repaired.push(w.table);
    }
    return repaired;
  }

  /**
   * Runs `check()` every `intervalMs` until the returned function is called. Errors go to the log
   * (the next tick retries); the timer does not keep the process alive.
   */
  startResync(intervalMs = 5000): () => void {
    let busy = false;
    const t = setInterval(() => {
      if (busy) return;
      busy = true;
      this.check()
        .catch((e: unknown) => this.log.warn(`iptables resync failed: ${(e as Error).message}`))
        .finally(() => (busy = false));
    }, intervalMs);
    t.unref();
    return () => clearInterval(t);
  }

  /** Removes both chains and every rule with our comments. */
  async remove(): Promise<void> {
    for (const def of TABLE_DEFS) {
      const saved = parseSave(await this.save(def.table), def.builtin, def.chain, def.comment);
      if (saved.chainExists || saved.builtinOurs.length) await this.restore(removeText(saved, def));
    }
    this.params = undefined;
    this.log.info('iptables: flannel rules removed');
  }
}
