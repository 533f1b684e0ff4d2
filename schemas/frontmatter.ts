import type { FileProblem } from './errors.js';
import { conflictProblem, decodeFileText, findConflictMarker } from './file-text.js';
import { parseYaml, renderYaml } from './safe-yaml.js';
import { splitFrontmatter } from './frontmatter-split.js';
export { splitFrontmatter, type FrontmatterParts, type SplitResult } from './frontmatter-split.js';

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
