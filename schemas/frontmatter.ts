import type { FileProblem } from './errors.js';
import { conflictProblem, decodeFileText, findConflictMarker } from './file-text.js';
import { parseYaml, renderYaml } from './safe-yaml.js';

export interface FrontmatterParts {
  yaml: string;
  body: string;
  /** 1-based file line of the first YAML line, for messages. */
  yamlFirstLine: number;
  /** How many lines the frontmatter takes, both `---` lines included. */
  frontmatterLines: number;
}

export type SplitResult = ({ ok: true } & FrontmatterParts) | { ok: false; reason: string; fix: string };

/** A fence line: `---`, allowing trailing blanks that editors leave behind (and the `\r` of CRLF). */
const FENCE_RE = /^---[ \t]*\r?$/;
const FIX_SHAPE = 'start the file with a line ---, then the fields as YAML, then a line ---, then the body';

/**
 * Splits Markdown-with-frontmatter text (BOM already removed) into the YAML between the two `---` lines and the
 * body after the second. The body is returned byte for byte, line endings included.
 */
export function splitFrontmatter(text: string): SplitResult {
  const firstEnd = text.indexOf('\n');
  const first = firstEnd < 0 ? text : text.slice(0, firstEnd);
  if (!FENCE_RE.test(first)) {
    if (text.trim() === '') return { ok: false, reason: 'the file is empty', fix: FIX_SHAPE };
    const shown = first.length > 40 ? `${first.slice(0, 40)}…` : first;
    const reason = first.startsWith('---')
      ? `the first line is "${shown}", not "---" (front matter engines such as ---js are not supported)`
      : `the file has no frontmatter: it must start with a line "---", and it starts with "${shown}"`;
    return { ok: false, reason, fix: FIX_SHAPE };
  }
  if (firstEnd < 0) return { ok: false, reason: 'the frontmatter is not closed: there is no second "---" line', fix: FIX_SHAPE };
  const yamlStart = firstEnd + 1;
  let lineStart = yamlStart;
  let line = 2;
  while (lineStart <= text.length) {
    const nl = text.indexOf('\n', lineStart);
    const lineEnd = nl < 0 ? text.length : nl;
    if (FENCE_RE.test(text.slice(lineStart, lineEnd))) {
      return {
        ok: true,
        yaml: text.slice(yamlStart, lineStart),
        body: nl < 0 ? '' : text.slice(nl + 1),
        yamlFirstLine: 2,
        frontmatterLines: line,
      };
    }
    if (nl < 0) break;
    lineStart = nl + 1;
    line++;
  }
  return { ok: false, reason: 'the frontmatter is not closed: there is no second "---" line after the first', fix: FIX_SHAPE };
}

export type MappingResult = { ok: true; data: Record<string, unknown>; body: string } | { ok: false; problems: FileProblem[] };

function describeShape(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return 'a single text value';
  return `a single ${typeof value} value`;
}

/** The YAML value must be a mapping of fields; anything else is reported as such. */
export function expectMapping(path: string, value: unknown, what: string): MappingResult {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return { ok: true, data: value as Record<string, unknown>, body: '' };
  }
  const problem: FileProblem = {
    path,
    field: '',
    reason: `the ${what} is ${describeShape(value)}, not a mapping of fields`,
    fix: 'write the fields as "name: value" lines, for example "title: Run the tests"',
    severity: 'error',
  };
  return { ok: false, problems: [problem] };
}

/** A Markdown bus file: size, encoding, conflict markers, the `---` fences, then safe YAML that must be a mapping. */
export function parseFrontmatter(path: string, content: string | Uint8Array): MappingResult {
  const decoded = decodeFileText(path, content);
  if (!decoded.ok) return { ok: false, problems: [decoded.problem] };
  const split = splitFrontmatter(decoded.text);
  const marker = findConflictMarker(decoded.text, split.ok ? split.frontmatterLines : Infinity);
  if (marker) return { ok: false, problems: [conflictProblem(path, marker)] };
  if (!split.ok) return { ok: false, problems: [{ path, field: '', reason: split.reason, fix: split.fix, severity: 'error' }] };
  const parsed = parseYaml(path, split.yaml, split.yamlFirstLine);
  if (!parsed.ok) return parsed;
  const mapping = expectMapping(path, parsed.value, 'frontmatter');
  return mapping.ok ? { ...mapping, body: split.body } : mapping;
}

/** gitbus.yaml: the same checks, for a file that is YAML throughout. */
export function parseYamlFile(path: string, content: string | Uint8Array): MappingResult {
  const decoded = decodeFileText(path, content);
  if (!decoded.ok) return { ok: false, problems: [decoded.problem] };
  const marker = findConflictMarker(decoded.text);
  if (marker) return { ok: false, problems: [conflictProblem(path, marker)] };
  const parsed = parseYaml(path, decoded.text, 1);
  if (!parsed.ok) return parsed;
  return expectMapping(path, parsed.value, 'file');
}

/**
 * `---`, the editor's schema comment, the YAML, `---`, the body. `data` keys are written in their insertion order,
 * which the caller makes the kind's declared field order.
 */
export function renderFrontmatter(data: Record<string, unknown>, body: string, schemaRef?: string): string {
  const comment = schemaRef === undefined ? '' : `# yaml-language-server: $schema=${schemaRef}\n`;
  return `---\n${comment}${renderYaml(data)}---\n${body}`;
}
