import {
  Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type DocumentOptions,
  type ParseOptions,
  type SchemaOptions,
  type ToStringOptions,
} from 'yaml';
import type { FileProblem } from './errors.js';

/**
 * YAML 1.2 core schema and nothing else: no custom or YAML 1.1 tags (`!!binary` would make a Buffer,
 * `!!js/function` something worse), no merge keys. Warnings are reported as problems instead of being logged.
 * Duplicate keys are errors, but `inspect` finds them: the library's own check (`uniqueKeys`) compares every key
 * with every earlier one, and 20 000 keys in a 256 KiB file then take seconds.
 */
const PARSE_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.2',
  schema: 'core',
  merge: false,
  resolveKnownTags: false,
  uniqueKeys: false,
  strict: true,
  prettyErrors: false,
  // Not 'silent': that level also drops the "multiple documents" error, and everything after a stray `---` in
  // gitbus.yaml would vanish without a word. 'error' keeps errors and still never prints anything itself.
  logLevel: 'error',
};

export const MAX_ALIAS_COUNT = 100;
/** Deeper than any bus file needs; keeps the walk below and the consumers' recursion far from the stack limit. */
export const MAX_DEPTH = 64;

const NESTED_TOO_DEEP = `the YAML is nested more than ${MAX_DEPTH} levels deep`;

const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

export type YamlResult = { ok: true; value: unknown } | { ok: false; problems: FileProblem[] };

interface Located {
  field: string;
  line: number;
  reason: string;
  fix: string;
}

/** The reason and fix for a key that appears twice in one mapping (a JSON line of a batch is held to the same rule). */
export function duplicateKey(name: string, line: number): { reason: string; fix: string } {
  return { reason: `the field "${name}" appears twice (again at line ${line})`, fix: 'keep one of them: a duplicate key is an error, because it is unclear which value is meant' };
}

/** Finds what the core-schema parse accepts but a bus file must not have, with the dotted path of each. */
function inspect(doc: Document, lineOf: (offset: number) => number): Located[] {
  const found: Located[] = [];
  const walk = (node: unknown, path: string[], depth: number): void => {
    if (found.length >= 20) return;
    const field = path.join('.');
    const line = (node as { range?: [number, number, number] } | null)?.range?.[0];
    const at = line === undefined ? 0 : lineOf(line);
    if (depth > MAX_DEPTH) {
      found.push({ field, line: at, reason: NESTED_TOO_DEEP, fix: 'flatten the value' });
      return;
    }
    if (isScalar(node) || isMap(node) || isSeq(node)) {
      if (node.tag !== undefined && !CORE_TAGS.has(node.tag)) {
        found.push({
          field,
          line: at,
          reason: `the YAML tag "${node.tag.replace('tag:yaml.org,2002:', '!!')}" is not allowed (line ${at})`,
          fix: 'remove the tag: bus files hold plain YAML values (text, numbers, true/false, null, lists, mappings)',
        });
      }
    }
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key;
        if (!isScalar(key) || typeof key.value !== 'string') {
          const keyLine = lineOf((key as { range?: [number] } | null)?.range?.[0] ?? 0);
          found.push({
            field,
            line: keyLine,
            reason: `a field name is ${isScalar(key) ? `the ${key.value === null ? 'null value' : typeof key.value} ${String(key.value)}` : 'not text'} (line ${keyLine})`,
            fix: 'field names are text: write them as name: value',
          });
          continue;
        }
        const name = key.value;
        const keyLine = lineOf(key.range?.[0] ?? 0);
        if (seen.has(name)) {
          found.push({ field: [...path, name].join('.'), line: keyLine, ...duplicateKey(name, keyLine) });
        }
        seen.add(name);
        walk(pair.value, [...path, name], depth + 1);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, String(i)], depth + 1));
    } else if (isPair(node)) {
      walk(node.value, path, depth + 1);
    }
  };
  walk(doc.contents, [], 0);
  return found;
}

/**
 * The line `key: value` with its value quoted, when the line is a plain key whose unquoted value holds ": " (`title:
 * Fix: the flaky test`, which YAML reads as a mapping inside a value); else null. Pure.
 */
export function quotedValueLine(line: string): string | null {
  const m = /^(\s*[A-Za-z0-9_-]+):[ \t]+([^'"\[{|>&*!#%@`\s][^#]*?:\s.*?)\s*$/.exec(line);
  return m?.[1] !== undefined && m[2] !== undefined ? `${m[1].trim()}: ${JSON.stringify(m[2])}` : null;
}

/**
 * Parses one YAML document without executing or constructing anything but plain data. `firstLine` is the file
 * line the YAML starts on, so messages point into the file, not into the frontmatter.
 */
export function parseYaml(path: string, yamlText: string, firstLine = 1): YamlResult {
  const problem = (field: string, reason: string, fix: string): FileProblem => ({ path, field, reason, fix, severity: 'error' });
  const lineCounter = new LineCounter();
  const lineOf = (offset: number): number => lineCounter.linePos(offset).line + firstLine - 1;
  let doc: Document;
  try {
    doc = parseDocument(yamlText, { ...PARSE_OPTIONS, lineCounter });
  } catch (err) {
    return { ok: false, problems: [problem('', `the YAML could not be read: ${String(err)}`, 'simplify the YAML')] };
  }
  let located: Located[];
  try {
    located = inspect(doc, lineOf);
  } catch (err) {
    // A stack overflow on absurd nesting is a property of the file, not a crash of the reader.
    return { ok: false, problems: [problem('', `the YAML could not be read: ${String(err)}`, 'simplify the YAML')] };
  }
  const problems: FileProblem[] = located.map((l) => problem(l.field, l.reason, l.fix));
  const tooDeep = located.some((l) => l.reason === NESTED_TOO_DEEP);
  for (const err of doc.errors) {
    // The YAML library's own recursion giving out (thousands of levels) is an error it records, not a syntax error:
    // the nesting, said once, with its fix.
    if (err.message.includes('Maximum call stack size exceeded')) {
      if (!tooDeep && !problems.some((p) => p.reason === NESTED_TOO_DEEP)) problems.push(problem('', NESTED_TOO_DEEP, 'flatten the value'));
      continue;
    }
    const { line, col } = lineCounter.linePos(err.pos[0]);
    const quoted = err.code === 'BLOCK_AS_IMPLICIT_KEY' ? quotedValueLine(yamlText.split('\n')[line - 1] ?? '') : null;
    problems.push(
      problem(
        '',
        `YAML syntax error at line ${line + firstLine - 1}, column ${col}: ${err.message}`,
        quoted
          ? `a value holding ": " must be quoted, or YAML reads it as another key: write ${quoted}`
          : 'correct the YAML; an unclosed quote or bracket, or wrong indentation, is the usual cause',
      ),
    );
    if (problems.length >= 20) break;
  }
  for (const warning of doc.warnings) {
    // Unresolved tags were reported with their field by `inspect`.
    if (warning.code === 'TAG_RESOLVE_FAILED' && located.length > 0) continue;
    const { line } = lineCounter.linePos(warning.pos[0]);
    problems.push(problem('', `YAML problem at line ${line + firstLine - 1}: ${warning.message}`, 'correct the YAML'));
  }
  if (problems.length > 0) return { ok: false, problems };
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      const excessive = /Excessive alias count/.test(err.message);
      return {
        ok: false,
        problems: [
          problem(
            '',
            excessive
              ? `the YAML expands aliases more than ${MAX_ALIAS_COUNT} times (a "billion laughs" attack, or a mistake)`
              : `the YAML has a broken alias: ${err.message}`,
            'write the values out instead of using &anchors and *aliases',
          ),
        ],
      };
    }
    return { ok: false, problems: [problem('', `the YAML could not be read: ${String(err)}`, 'simplify the YAML')] };
  }
}

const STRINGIFY_OPTIONS: ToStringOptions = {
  // Never fold long lines: a folded title or command reads back the same, but diffs and greps get worse.
  lineWidth: 0,
  flowCollectionPadding: false,
};

/**
 * YAML for a mapping, one `key: value` per line, lists of plain values in flow style (`labels: [gpu]`). Aliases
 * are never written, even for repeated objects, so every file reads on its own.
 */
export function renderYaml(value: Record<string, unknown>): string {
  const doc = new Document(value, { version: '1.2', schema: 'core', aliasDuplicateObjects: false });
  visit(doc, {
    Seq(_key, node) {
      if (node.items.every((item) => isScalar(item) && !(typeof item.value === 'string' && /[\n\r]/.test(item.value)))) node.flow = true;
    },
  });
  return doc.toString(STRINGIFY_OPTIONS);
}
