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
const NS_FIELD = /"([A-Za-z0-9_]*_ns)":(-?\d+)/g;

export function stringifyWithNs(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'bigint' ? BIGINT_MARK + v.toString() : v,
  ).replace(MARKED, '$1');
}

export function parseWithNs(text: string): unknown {
  const quoted = text.replace(NS_FIELD, '"$1":"$2"');
  return JSON.parse(quoted, (key, v: unknown) =>
    key.endsWith('_ns') && typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : v,
  );
}
