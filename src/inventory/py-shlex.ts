/**
 * Python's `shlex.split(line, comments=True)` (POSIX mode, whitespace_split), which Ansible's INI plugin uses
 * to cut a host line into `name k=v k="v w" ...`. Ported from CPython's shlex.read_token so the corner cases
 * match: `#` starts a comment even in the middle of a word (`a=1#c` -> `a=1`), backslash escapes any
 * character outside quotes, only `"` and `\` inside double quotes, nothing inside single quotes, and
 * adjacent quoted parts join one word (`a"b c"d` -> `ab cd`).
 */

export class ShlexError extends Error {}

export interface ShlexToken {
  value: string;
  /** offset in the line where the token starts */
  start: number;
  /** offset just after its last character (quotes included) */
  end: number;
}

const WHITESPACE = ' \t\r\n';

export function pyShlexSplit(line: string): ShlexToken[] {
  const out: ShlexToken[] = [];
  let i = 0;
  let token = '';
  let start = -1;
  let quoted = false;
  // states: ' ' between words, 'a' in a word, a quote char inside quotes, '\\' after an escape
  let state: string = ' ';
  let escapedState = 'a';
  const emit = (): void => {
    if (token !== '' || quoted) out.push({ value: token, start, end: i });
    token = ''; quoted = false; start = -1;
  };
  for (;;) {
    const c = i < line.length ? line[i]! : '';
    if (state === ' ') {
      if (!c) break;
      if (WHITESPACE.includes(c)) { i++; continue; }
      if (c === '#') break; // comment: the rest of the line
      start = i;
      if (c === '\\') { escapedState = 'a'; state = '\\'; i++; continue; }
      if (c === '"' || c === "'") { state = c; i++; continue; }
      token = c; state = 'a'; i++; continue;
    }
    if (state === '"' || state === "'") {
      quoted = true;
      if (!c) throw new ShlexError('No closing quotation');
      if (c === state) { state = 'a'; i++; continue; }
      if (state === '"' && c === '\\') { escapedState = state; state = '\\'; i++; continue; }
      token += c; i++; continue;
    }
    if (state === '\\') {
      if (!c) throw new ShlexError('No escaped character');
      // inside double quotes, a backslash escapes only the quote and itself
      if (escapedState === '"' && c !== '"' && c !== '\\') token += '\\';
      token += c; state = escapedState; i++; continue;
    }
    // state 'a'
    if (!c) { emit(); break; }
    if (WHITESPACE.includes(c)) { emit(); state = ' '; i++; continue; }
    if (c === '#') { emit(); break; }
    if (c === '"' || c === "'") { state = c; i++; continue; }
    if (c === '\\') { escapedState = 'a'; state = '\\'; i++; continue; }
    token += c; i++;
  }
  return out;
}
