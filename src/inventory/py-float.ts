/**
 * Python floats as Ansible keeps them. YAML `1.0`, JSON `1.0`, INI `x=1.0` and a Jinja literal `1.0` are floats
 * in Ansible, and stay floats: `"port-{{ p }}"` renders "port-1.0", a playbook writes `24.0` into a config. A
 * JavaScript number cannot tell 1.0 from 1, so a float with an integral value is a PyFloat (a float with a
 * fraction is an ordinary number: it cannot be mistaken for an int). Text joins use Python's repr of floats
 * (`1e+16`, `1e-05`), and a setting that must be an integer refuses a float, as the tools a playbook feeds
 * would (flannel's JSON decoder, ssh's option parser).
 */

export class PyFloat {
  constructor(readonly value: number) {}
  /** JSON has one number type: the value (the differential test compares float-ness separately) */
  toJSON(): number { return this.value; }
}

/** A float read from a source: a PyFloat when its value is integral, else the number itself. */
export function pyFloat(n: number): number | PyFloat {
  return Number.isInteger(n) ? new PyFloat(n) : n;
}

/** True for values Python holds as a float. */
export function isPyFloat(v: unknown): v is number | PyFloat {
  return v instanceof PyFloat || (typeof v === 'number' && !Number.isInteger(v));
}

/**
 * Python's repr (= str) of a float: the shortest digits that round-trip (as JavaScript's), in fixed notation
 * when the decimal point falls between -4 and 16 places, else with an exponent of at least two digits.
 */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const sign = n < 0 ? '-' : '';
  const [mant, e] = Math.abs(n).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '');
  const decpt = Number(e) + 1;
  if (decpt <= -4 || decpt > 16) {
    const exp = decpt - 1;
    return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/** Python's str() of a number held as Ansible holds it. */
export function pyNumberStr(v: number | PyFloat): string {
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
}
