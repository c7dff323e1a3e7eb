/**
 * Host names as Ansible's inventory plugins read them (ansible/parsing/utils/addresses.py and
 * plugins/inventory/__init__.py): an optional `:port` (`host:2222`, `[v6::1]:2222`), then ranges expanded
 * (`web[01:10]` keeps the zero padding, `[a:f]` letters, `[1:10:2]` a step, several ranges multiply).
 * A name that is not a valid host name or address is kept as written, without a port, as Ansible does.
 */

export class HostPatternError extends Error {}

const numericRange = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const hexRange = String.raw`\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`;
const alnumRange = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const v6c = `(?:[0-9a-f]{1,4}|${hexRange})`;
const v4c = `(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${numericRange})`;
const label = String.raw`(?:[\p{L}\p{N}_]|${alnumRange})(?:[\p{L}\p{N}_-]|${alnumRange})*(?<![_-])`;

const PATTERNS = {
  bracketedHostport: /^\[(.+)\]:([0-9]+)$/,
  hostport: /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/,
  ipv4: new RegExp(`^(?:${v4c}\\.){3}${v4c}$`, 'i'),
  ipv6: new RegExp(`^(?:${[
    `(?:${v6c}:){7}${v6c}`, `(?:${v6c}:){1,6}:`, `(?:${v6c}:)(?::${v6c}){1,6}`, `(?:${v6c}:){2}(?::${v6c}){1,5}`,
    `(?:${v6c}:){3}(?::${v6c}){1,4}`, `(?:${v6c}:){4}(?::${v6c}){1,3}`, `(?:${v6c}:){5}(?::${v6c}){1,2}`,
    `(?:${v6c}:){6}(?::${v6c})`, `:(?::${v6c}){1,6}`, `${v6c}?::`,
    `(?:0:){6}(?:${v6c}\\.){3}${v6c}`, `::(?:ffff:)?(?:${v6c}\\.){3}${v6c}`, `(?:0:){5}ffff:(?:${v6c}\\.){3}${v6c}`,
  ].join('|')})$`, 'i'),
  hostname: new RegExp(`^${label}(?:\\.${label})*$`, 'iu'),
};

/** Ansible's parse_address(address, allow_ranges=True); undefined when it is not a host identifier. */
export function parseAddress(address: string): { host: string; port?: number } | undefined {
  let addr = address;
  let port: number | undefined;
  for (const re of [PATTERNS.bracketedHostport, PATTERNS.hostport]) {
    const m = re.exec(addr);
    if (m) { addr = m[1]!; port = Number(m[2]); }
  }
  // Python's `re.match(...$)` also matches before a final newline; host names never end in one here.
  if (![PATTERNS.ipv4, PATTERNS.ipv6, PATTERNS.hostname].some((re) => re.test(addr))) return undefined;
  return { host: addr, ...(port !== undefined ? { port } : {}) };
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Ansible's expand_hostname_range: the first [..] range expanded, then recursively the rest. */
export function expandHostRange(line: string): string[] {
  const open = line.indexOf('[');
  if (open < 0) return [line];
  // Python: replace('[', '|', 1).replace(']', '|', 1).split('|'): the first ']' anywhere in the name
  const firstClose = line.indexOf(']');
  if (firstClose < 0) throw new HostPatternError(`"${line}": a range needs a closing "]"`);
  if (firstClose < open) throw new HostPatternError(`"${line}": "]" before "["`);
  const parts = line.replace('[', '|').replace(']', '|').split('|');
  if (parts.length !== 3) throw new HostPatternError(`"${line}": "|" is not allowed in a host range`);
  const [head, nrange, tail] = parts as [string, string, string];
  const bounds = nrange.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) throw new HostPatternError(`"${line}": host range must be begin:end or begin:end:step`);
  let beg = bounds[0]!;
  const end = bounds[1]!;
  const stepText = bounds.length === 3 ? bounds[2]! : '1';
  if (!beg) beg = '0';
  if (!end) throw new HostPatternError(`"${line}": host range must specify end value`);
  let fill = (x: string): string => x;
  if (beg[0] === '0' && beg.length > 1) {
    const rlen = beg.length;
    if (rlen !== end.length) throw new HostPatternError(`"${line}": host range must specify equal-length begin and end formats`);
    fill = (x) => x.padStart(rlen, '0');
  }
  const step = pyInt(stepText, line);
  let seq: string[];
  const letters = /^[A-Za-z]+$/;
  if ((letters.test(beg) || letters.test(end)) && (beg.length > 1 || end.length > 1 || !(letters.test(beg) && letters.test(end)))) {
    throw new HostPatternError(`"${line}": a letter range is one letter to one letter, e.g. [a:f]`);
  }
  const ib = letters.test(beg) ? LETTERS.indexOf(beg) : -1;
  const ie = letters.test(end) ? LETTERS.indexOf(end) : -1;
  if (ib >= 0 && ie >= 0) {
    if (ib > ie) throw new HostPatternError(`"${line}": host range must have begin <= end`);
    if (step === 0) throw new HostPatternError(`"${line}": the step of a host range cannot be zero`);
    if (step < 0) throw new HostPatternError(`"${line}": a negative step is not supported in host ranges`);
    seq = [];
    for (let k = ib; k <= ie; k += step) seq.push(LETTERS[k]!);
  } else {
    const b = pyInt(beg, line);
    const e = pyInt(end, line);
    if (step === 0) throw new HostPatternError(`"${line}": the step of a host range cannot be zero`);
    if (step < 0) throw new HostPatternError(`"${line}": a negative step is not supported in host ranges`);
    seq = [];
    for (let k = b; k < e + 1; k += step) {
      seq.push(String(k));
      if (seq.length > 100_000) throw new HostPatternError(`"${line}": the range expands to more than 100000 hosts`);
    }
  }
  const out: string[] = [];
  for (const r of seq) {
    const name = `${head}${fill(r)}${tail}`;
    if (name.includes('[')) out.push(...expandHostRange(name));
    else out.push(name);
  }
  return out;
}

/** Python int() of a range bound: decimal digits with optional sign/whitespace/underscores. */
function pyInt(s: string, line: string): number {
  const t = s.trim();
  if (!/^[-+]?[0-9](?:_?[0-9])*$/.test(t)) throw new HostPatternError(`"${line}": "${s}" is not a number or a single letter (host range bounds are like 01:10 or a:f)`);
  return Number(t.replace(/_/g, ''));
}

/** A host key of an inventory: its names and the port it sets (ansible_port), as Ansible's _expand_hostpattern. */
export function expandHostPattern(pattern: string): { names: string[]; port?: number } {
  const a = parseAddress(pattern);
  const host = a ? a.host : pattern;
  const names = host.includes('[') ? expandHostRange(host) : [host];
  return { names, ...(a?.port !== undefined ? { port: a.port } : {}) };
}
