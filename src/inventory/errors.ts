/** Inventory problems, each with the place it was written: "file:line:col: key: message". */
import { InvalidInputError } from '../util/errors.js';
import { formatPos, type SourcePos } from './types.js';

export interface InventoryIssue {
  pos?: SourcePos;
  /** the offending variable or YAML key; empty for syntax errors */
  key: string;
  message: string;
}

export function formatIssue(i: InventoryIssue): string {
  const where = i.pos ? `${formatPos(i.pos)}: ` : '';
  return `${where}${i.key ? `${i.key}: ` : ''}${i.message}`;
}

/** All the problems found in an inventory (exit code 2). The message has one issue per line. */
export class InventoryError extends InvalidInputError {
  constructor(readonly issues: InventoryIssue[]) {
    super(issues.length === 1 ? formatIssue(issues[0]!) : `${issues.length} problems in the inventory:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
    this.name = 'InventoryError';
  }
}

/** Collects issues, dropping duplicates (a group var is merged into every host of the group). */
export class IssueList {
  readonly items: InventoryIssue[] = [];
  private readonly seen = new Set<string>();
  add(key: string, message: string, pos?: SourcePos): void {
    const id = `${formatPos(pos)}|${key}|${message}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.items.push({ key, message, ...(pos ? { pos } : {}) });
  }
  throwIfAny(): void {
    if (this.items.length) throw new InventoryError(this.items);
  }
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate within a small distance, or undefined. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) { bestD = d; best = c; }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 4)) ? best : undefined;
}
