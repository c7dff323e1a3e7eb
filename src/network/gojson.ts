/**
 * The bits of Go's encoding/json that flannel's wire formats depend on: struct fields matched
 * case-insensitively (last matching key wins), Go's type-error wording, and Go's string escaping
 * (HTML-safe: <, >, & and U+2028/2029 escaped) so our JSON is byte-identical to a Go peer's.
 */

export type GoKind = 'string' | 'bool' | 'uint' | 'uint32' | 'int';

/** JSON value kind the way Go names it in UnmarshalTypeError ("number -1", "string", "object" ...). */
function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return 'number';
  return typeof v; // string | boolean | object
}

export class GoJsonError extends Error {}

function typeError(v: unknown, struct: string, field: string, goType: string): GoJsonError {
  let what = jsonKind(v);
  if (what === 'boolean') what = 'bool';
  if (what === 'number') what = `number ${String(v)}`;
  return new GoJsonError(`json: cannot unmarshal ${what} into Go struct field ${struct}.${field} of type ${goType}`);
}

/**
 * Pick struct fields out of a decoded JSON object the way Go does: every key is matched to a field
 * name ignoring case; when several keys match one field the last one in the text wins.
 */
export function pickFields(obj: Record<string, unknown>, fields: readonly string[]): Map<string, unknown> {
  const byLower = new Map(fields.map((f) => [f.toLowerCase(), f] as const));
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(obj)) {
    const f = byLower.get(k.toLowerCase());
    if (f !== undefined) out.set(f, v);
  }
  return out;
}

/**
 * Decode one scalar the way Go would into a field of `kind`. `null` leaves the default (Go's rule
 * for non-pointer scalars). Throws Go's UnmarshalTypeError text.
 */
export function goScalar<T extends string | boolean | number>(
  v: unknown, kind: GoKind, struct: string, field: string, dflt: T,
): T {
  if (v === undefined || v === null) return dflt;
  switch (kind) {
    case 'string':
      if (typeof v !== 'string') throw typeError(v, struct, field, 'string');
      return v as T;
    case 'bool':
      if (typeof v !== 'boolean') throw typeError(v, struct, field, 'bool');
      return v as T;
    case 'uint':
    case 'uint32':
    case 'int': {
      const max = kind === 'uint32' ? 0xffffffff : Number.MAX_SAFE_INTEGER;
      const min = kind === 'int' ? Number.MIN_SAFE_INTEGER : 0;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw typeError(v, struct, field, kind);
      return v as T;
    }
  }
}

/** Go's json.Marshal of a string (HTML escaping on, as in encoding/json's default encoder). */
export function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Go's output for a json.RawMessage field: the value compacted (key order kept), strings escaped
 * as Go does. Our JSON.parse'd value loses only number spelling (1.0 -> 1), which flannel's
 * backend data never uses.
 */
export function goJsonValue(v: unknown): string {
  if (v === null || typeof v !== 'object') {
    return typeof v === 'string' ? goJsonString(v) : JSON.stringify(v) ?? 'null';
  }
  if (Array.isArray(v)) return `[${v.map(goJsonValue).join(',')}]`;
  return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${goJsonString(k)}:${goJsonValue(x)}`).join(',')}}`;
}

/** JSON.parse with Go-like wording for syntax errors (the message flannel users search for). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new GoJsonError(`invalid JSON: ${(e as Error).message}`);
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
