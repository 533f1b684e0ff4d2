import { nodeCrypto } from '../../schemas/node-crypto.js';
import { JsonNumberText } from '../json-keeping-numbers.js';

/** The SHA-256 of bytes, as 64 lower-case hex digits: what a manifest lists and what state.json remembers. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return nodeCrypto().createHash('sha256').update(bytes).digest('hex');
}

/** JSON with every object's keys sorted, so that two equal values always give the same text. */
export function canonicalJson(value: unknown): string {
  // Its value: 12345678901234567890 and ...891 are the same double, not the same setting; 30.0 is 30.
  if (value instanceof JsonNumberText) return value.valueText;
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The hash of a JSON object's values for `keys` only (keys it lacks are left out): the content of a file merged by
 * keys as far as a profile manages it, so that keys the node added itself are never drift.
 */
export function keysHash(obj: Readonly<Record<string, unknown>>, keys: readonly string[]): string {
  const picked = Object.fromEntries(keys.filter((k) => Object.hasOwn(obj, k)).map((k) => [k, obj[k]]));
  return sha256Hex(`json-keys\n${canonicalJson(picked)}`);
}
