import { decodeFileText, findConflictMarker } from './file-text.js';
import { splitFrontmatter } from './frontmatter-split.js';
import type { Violation } from './rule.js';
import { textViolation, type TextOptions } from './text-rule.js';
import { yamlValue } from './yaml-line.js';

/**
 * Bus files written and read without zod or yaml (issue 14): the pieces the kinds share (handoff-fast.ts,
 * claim-fast.ts, response-fast.ts). A kind is its fields in its schema's order, each with the very rule its schema
 * is built from; a file is written here only when every value present is one of those, on one line as
 * yaml-line.ts writes it, and the bytes pass what parseBusFile checks before the fields. Anything else is left to
 * the schemas, which also word its problems.
 */

/** Whether a value is certainly valid as a field (false: not valid, or not checked here). */
export type Check = (value: unknown) => boolean;

export const ruled = (text: TextOptions, rule?: (s: string) => Violation | undefined): Check => (v) =>
  typeof v === 'string' && textViolation(v, text) === undefined && (rule === undefined || rule(v) === undefined);
export const matches = (re: RegExp): Check => (v) => typeof v === 'string' && re.test(v);
// Every index, holes too: `every` skips a hole, which the schema reads as undefined and refuses.
export const listOf = (item: Check): Check => (v) => {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (!item(v[i])) return false;
  return true;
};
export const isBoolean: Check = (v) => typeof v === 'boolean';
export const wholeNumber = (min: number, max: number): Check => (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
export const oneOf = (values: readonly string[]): Check => (v) => (values as readonly unknown[]).includes(v);

/** A kind of bus file as written here. */
export interface FastKind {
  /** Its schema's place, on the line under the first fence, for editors. */
  schemaRef: string;
  /** Its fields in the schema's order, the order renderBusFile writes them. */
  fields: readonly string[];
  /** The rule of each field checked here; a field without one is left to the schemas. */
  checks: { readonly [field: string]: Check | undefined };
}

/**
 * The frontmatter lines of `data`, or undefined: renderBusFile's own terms for the data (a plain mapping, whose
 * fields are read below, and a prototype's would be too; no unknown key, even one whose value is undefined, which
 * the strict schema refuses), and each value checked and on one line.
 */
export function fastFields(kind: FastKind, data: object): string | undefined {
  const proto = Object.getPrototypeOf(data) as unknown;
  if (proto !== Object.prototype && proto !== null) return undefined;
  const fields = data as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(fields)) if (!kind.fields.includes(key)) return undefined;
  let yaml = '';
  for (const key of kind.fields) {
    const value = fields[key];
    if (value === undefined) continue;
    const line = kind.checks[key]?.(value) === true ? yamlValue(value) : undefined;
    if (line === undefined) return undefined;
    yaml += `${key}: ${line}\n`;
  }
  return yaml;
}

/** The file at `path` with these lines and `body`, when its bytes pass parseBusFile's checks of size, encoding, fences and conflict markers. */
export function fastFileText(kind: FastKind, path: string, yaml: string, body: string): string | undefined {
  const text = `---\n# yaml-language-server: $schema=${kind.schemaRef}\n${yaml}---\n${body}`;
  if (!decodeFileText(path, text).ok) return undefined;
  const split = splitFrontmatter(text);
  if (!split.ok || split.body !== body || findConflictMarker(text, split.frontmatterLines) !== undefined) return undefined;
  return text;
}
