/**
 * The output protocol of every remote script the phases run: one SSH round trip per host prints several
 * named sections, each introduced by a marker line `::fp:: <name> [arg]` and followed by the raw output of
 * one command (JSON from `ip -j`, a file, a status word). Raw output needs no escaping on the host, and one
 * parser serves facts, start, verify and down.
 */

export const SECTION_MARKER = '::fp::';

/** One section: its name, an optional argument (e.g. the file path or peer IP) and the text under it. */
export interface Section {
  name: string;
  arg: string;
  body: string;
}

/** Splits script output into sections (text before the first marker is ignored). Bodies are trimmed of the
 * separating newlines only. */
export function parseSections(text: string): Section[] {
  const out: Section[] = [];
  let cur: Section | undefined;
  const lines: string[] = [];
  const flush = () => {
    if (cur) {
      cur.body = lines.join('\n').replace(/^\n+/, '').replace(/\n+$/, '');
      out.push(cur);
    }
    lines.length = 0;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith(SECTION_MARKER + ' ')) {
      flush();
      const rest = line.slice(SECTION_MARKER.length + 1).trim();
      const sp = rest.indexOf(' ');
      cur = sp < 0 ? { name: rest, arg: '', body: '' } : { name: rest.slice(0, sp), arg: rest.slice(sp + 1), body: '' };
    } else if (cur) {
      lines.push(line);
    }
  }
  flush();
  return out;
}

/** The first section called `name` (and `arg`, when given). */
export function section(sections: readonly Section[], name: string, arg?: string): Section | undefined {
  return sections.find((s) => s.name === name && (arg === undefined || s.arg === arg));
}

/** All sections called `name`. */
export function sectionsNamed(sections: readonly Section[], name: string): Section[] {
  return sections.filter((s) => s.name === name);
}

/** Single-quotes a string for bash (the one quoting function, from remote/command.ts; re-exported for scripts). */
export { shq } from './command.js';

/** Parses JSON, returning `fallback` for empty or invalid text (a missing tool prints nothing). */
export function jsonOr<T>(text: string | undefined, fallback: T): T {
  if (!text || !text.trim()) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}
