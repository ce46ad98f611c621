/**
 * JSON with exact integer nanoseconds.
 *
 * Nanoseconds since the Unix epoch (~1.8e18) exceed 2^53, so a plain
 * JSON.parse in JavaScript would round them. On the wire they are ordinary JSON
 * integers (Python's json reads them exactly); in TypeScript every key ending in
 * `_ns` is carried as a bigint. This module is the one place that knows the rule.
 */

const BIGINT_MARK = '\u0000ns:';
const MARKED = /"\\u0000ns:(-?\d+)"/g;
/** Whitespace around the colon is allowed: Python's json.dumps writes `"t_ns": 123`. */
const NS_FIELD = /"([A-Za-z0-9_]*_ns)"\s*:\s*(-?\d+)(?![.\deE])/g;

export function stringifyWithNs(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? BIGINT_MARK + v.toString() : v)).replace(MARKED, '$1');
}

const DIGITS = /^-?\d+$/;

export function parseWithNs(text: string): unknown {
  const value: unknown = JSON.parse(text.replace(NS_FIELD, '"$1":"$2"'));
  nsToBigint(value);
  return value;
}

/**
 * In place, every `_ns` string of digits becomes a bigint. A walk over the
 * objects only: a JSON.parse reviver is called for every value, and that
 * costs more than the parse itself on the frame path.
 */
function nsToBigint(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) nsToBigint(item);
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const v = record[key];
    if (typeof v === 'object') nsToBigint(v);
    else if (typeof v === 'string' && key.endsWith('_ns') && DIGITS.test(v)) record[key] = BigInt(v);
  }
}
