/**
 * Files merged by JSON keys (a profile's `merge: json`, for Claude Code's settings.json), pure: the profile sets its
 * top-level keys, every other key of the node's file is kept where it was.
 */

import { JsonNumberText, parseJsonKeepingNumbers, renderJsonKeepingNumbers } from '../json-keeping-numbers.js';

export type JsonObject = Record<string, unknown>;

export type JsonRead = { ok: true; value: JsonObject } | { ok: false; reason: string };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumberText);

/** Reads a JSON object from text; an empty file is an empty object (a settings file just created). */
export function parseJsonObject(text: string): JsonRead {
  if (text.trim() === '') return { ok: true, value: {} };
  let v: unknown;
  try {
    v = parseJsonKeepingNumbers(text);
  } catch (err) {
    // V8 quotes the text it failed on: a node's own settings (tokens in its env key, say), over several lines, would
    // go into every report and the watcher's log. The reason keeps what went wrong, not the file's text.
    return { ok: false, reason: `not valid JSON (${(err as Error).message.replace(/, (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, '')})` };
  }
  if (!isObject(v)) return { ok: false, reason: 'not a JSON object' };
  if (tooDeep(v)) return { ok: false, reason: `not usable: its JSON is nested more than ${JSON_MAX_DEPTH} levels deep` };
  return { ok: true, value: v };
}

/** Nesting a file merged by keys may have: settings files are shallow, and hashing walks the value recursively. */
export const JSON_MAX_DEPTH = 64;

/** Whether a parsed value nests deeper than JSON_MAX_DEPTH, found without recursion (the value may be 20,000 deep). */
function tooDeep(value: unknown): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object' || v instanceof JsonNumberText) continue;
    if (depth > JSON_MAX_DEPTH) return true;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Only `keys` of `obj` (those it has), in the order of `keys`. */
export function pickKeys(obj: JsonObject, keys: readonly string[]): JsonObject {
  // fromEntries defines own properties: a "__proto__" key from a file stays a key, never a prototype.
  return Object.fromEntries(keys.filter((k) => Object.hasOwn(obj, k)).map((k) => [k, obj[k]]));
}

/** The node's object with the profile's keys set: replaced where they were, added at the end otherwise. */
export function mergeJson(local: JsonObject, profile: JsonObject): JsonObject {
  const kept = Object.keys(local).map((k): [string, unknown] => [k, Object.hasOwn(profile, k) ? profile[k] : local[k]]);
  const added = Object.keys(profile).filter((k) => !Object.hasOwn(local, k)).map((k): [string, unknown] => [k, profile[k]]);
  return Object.fromEntries([...kept, ...added]);
}

/** JSON as Claude Code writes its settings: two spaces, a final newline; numbers as the file wrote them. */
export function renderJson(obj: JsonObject): string {
  return `${renderJsonKeepingNumbers(obj)}\n`;
}
