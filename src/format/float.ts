/**
 * Python's repr() of a float: the shortest digits that read back as the same
 * double, in fixed notation (always with a fractional part) when the decimal
 * exponent is in [-4, 16), else `d.ddde±XX`.
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() without an argument yields the shortest round-trip digits.
  const [mantissa, exp] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exp);
  if (exponent < -4 || exponent >= 16) {
    const frac = digits.length > 1 ? '.' + digits.slice(1) : '';
    const expDigits = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${digits[0]}${frac}e${exponent < 0 ? '-' : '+'}${expDigits}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const intLen = exponent + 1;
  if (digits.length <= intLen) return `${sign}${digits.padEnd(intLen, '0')}.0`;
  return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
}

/**
 * How Python's client renders a sample value or an `le` bound (its
 * floatToGoString): repr, except that positive values of a million and more
 * switch to Go's exponent form sooner.
 */
export function formatPrometheusFloat(x: number): string {
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  if (Number.isNaN(x)) return 'NaN';
  if (isPlainInteger(x)) return `${x}.0`;
  const repr = pythonFloatRepr(x);
  const dot = repr.indexOf('.');
  if (x > 0 && dot > 6) {
    let mantissa = `${repr[0]}.${repr.slice(1, dot)}${repr.slice(dot + 1)}`;
    mantissa = mantissa.replace(/0+$/, '').replace(/\.$/, '');
    return `${mantissa}e+${String(dot - 1).padStart(2, '0')}`;
  }
  return repr;
}

/**
 * Whether `x` renders as its integer digits and `.0`: most sample values
 * are counts, and this lets renderers skip the digit generation.
 */
export function isPlainInteger(x: number): boolean {
  return Number.isInteger(x) && x < 1e6 && x > -1e16 && !Object.is(x, -0);
}

/** Parses an `le` label value back to its bound (`+Inf` included). */
export function parseBound(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/**
 * A sample value as prom-client writes it: JavaScript's own number text
 * (`5`, `0.30000000000000004`, `1e-7`, `1e+21`), `+Inf`, `-Inf`, and `Nan`
 * for NaN, prom-client's spelling (Prometheus reads it case-blind).
 */
export function formatJavaScriptNumber(x: number): string {
  if (Number.isNaN(x)) return 'Nan';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  return `${x}`;
}
