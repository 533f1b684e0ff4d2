import { expect } from 'vitest';
import { parseBusFile } from '../../schemas/bus-file.js';
import { fastBusFileRead } from '../../schemas/bus-file-fast-read.js';
import { yamlishString } from './seeded-random.js';
import { OTHER } from './handoff-draws.js';

/**
 * Edits a person's editor, another tool or a hand would make to a file gitbus wrote: the fast readers
 * (schemas/bus-file-fast-read.ts) must read such a file as parseBusFile does, or leave it to the schemas.
 */
export const EDITS: ((text: string, rand: () => number) => string)[] = [
  (t) => t.replace('\n---\n', '\n# a comment\n---\n'),
  (t) => t.replace(/\n(title|from): /, '\n$1:  '),
  (t) => t.replace(/\n(title: )(.*)\n/, (_m, k: string, v: string) => `\n${k}"${v.replace(/"/g, '\\"')}"\n`),
  (t) => t.replace(/\n(title: )(.*)\n/, (_m, k: string, v: string) => `\n${k}'${v.replace(/'/g, "''")}'\n`),
  (t) => t.replace(/\n(from: .*)\n/, '\n$1 \n'),
  (t) => t.replace(/\n/g, '\r\n'),
  (t) => `\ufeff${t}`,
  (t) => t.replace('\n', '\n\n'),
  (t) => t.replace(/\n(from: .*)\n(created: .*)\n/, '\n$2\n$1\n'),
  (t) => t.replace(/\n(from: .*)\n/, '\n$1\n$1\n'),
  (t) => t.replace(/\nid: .*\n/, `\nid: ${OTHER}\n`),
  (t) => t.replace(/\nid: .*\n/, '\n'),
  (t) => t.replace('\n---\n', '\nunknown: x\n---\n'),
  (t) => t.replace('\n---\n', '\nx-note: x\n---\n'),
  (t) => t.replace('\n---\n', '\nprotocol: 1\n---\n'),
  (t) => t.replace(/\npriority: (\d+)/, '\npriority: +$1'),
  (t) => t.replace(/\npriority: (\d+)/, '\npriority: $1.0'),
  (t) => t.replace(/\nlabels: \[(.*)\]/, '\nlabels: [$1,]'),
  (t) => t.replace(/\nlabels: \[(.*)\]/, '\nlabels:\n  - $1'),
  (t) => t.replace(/, /g, ','),
  (t) => t.replace('# yaml-language-server', '#yaml-language-server'),
  (t) => t.replace(/---\n/, '--- \n'),
  (t) => t.replace(/\n---\n([^]*)$/, '\n---'),
  // Any field's line: its value quoted another way, spaced, repeated, or its key in capitals.
  (t, r) => onField(t, r, (k, v) => `${k}: "${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`),
  (t, r) => onField(t, r, (k, v) => `${k}: '${v.replace(/'/g, "''")}'`),
  (t, r) => onField(t, r, (k, v) => `${k}:  ${v}`),
  (t, r) => onField(t, r, (k, v) => `${k}: ${v} `),
  (t, r) => onField(t, r, (k, v) => `${k}: ${v}\n${k}: ${v}`),
  (t, r) => onField(t, r, (k, v) => `${k.toUpperCase()}: ${v}`),
  (t, r) => onField(t, r, (k, v) => `${k}: ${/^\d+$/.test(v) ? `0${v}` : v}`),
  (t, r) => {
    // A character changed somewhere, as bit rot or a careless hand would.
    const i = Math.floor(r() * t.length);
    return t.slice(0, i) + yamlishString(r, 1) + t.slice(i + 1);
  },
  (t, r) => {
    const i = Math.floor(r() * t.length);
    return t.slice(0, i) + t.slice(i + 1);
  },
];


/** `text` with one of its frontmatter fields' lines (picked with `rand`) rewritten by `edit`. */
function onField(text: string, rand: () => number, edit: (key: string, value: string) => string): string {
  const end = text.indexOf('\n---\n');
  const lines = text.slice(0, end).split('\n');
  const fields = lines.flatMap((line, i) => (/^[a-zA-Z]+: /.test(line) ? [i] : []));
  if (fields.length === 0) return text;
  const i = fields[Math.floor(rand() * fields.length)] as number;
  const line = lines[i] as string;
  const colon = line.indexOf(': ');
  lines[i] = edit(line.slice(0, colon), line.slice(colon + 2));
  return lines.join('\n') + text.slice(end);
}

/**
 * The fast reader's one property (schemas/bus-file-fast-read.ts): a reading it gives is parseBusFile's, key order
 * included, with no warning. True when it gave one.
 */
export function expectParserReading(path: string, content: string | Uint8Array): boolean {
  const fast = fastBusFileRead(path, content);
  if (fast === undefined) return false;
  const theirs = parseBusFile(path, content);
  const shown = typeof content === 'string' ? content.slice(0, 300) : `${content.length} bytes`;
  expect(theirs.ok, shown).toBe(true);
  if (!theirs.ok) return true;
  expect(JSON.stringify(fast.data), shown).toBe(JSON.stringify(theirs.file.data));
  expect(fast.body, shown).toBe(theirs.file.body);
  expect(theirs.warnings, shown).toEqual([]);
  return true;
}
