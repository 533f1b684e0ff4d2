/**
 * The `---` fences of a Markdown bus file, without yaml (frontmatter.ts parses what is between them): the handoff a
 * dispatch writes is checked with the same split without loading yaml (handoff-fast.ts).
 */

export interface FrontmatterParts {
  yaml: string;
  body: string;
  /** 1-based file line of the first YAML line, for messages. */
  yamlFirstLine: number;
  /** How many lines the frontmatter takes, both `---` lines included. */
  frontmatterLines: number;
}

export type SplitResult = ({ ok: true } & FrontmatterParts) | { ok: false; reason: string; fix: string };

/**
 * A fence line: `---`, allowing trailing blanks that editors leave behind (and the `\r` of CRLF). `/^---[ \t]*\r?$/` as
 * a scan (schemas/text-scan.ts).
 */
export function isFence(line: string): boolean {
  if (!line.startsWith('---')) return false;
  let i = 3;
  while (line[i] === ' ' || line[i] === '\t') i++;
  if (line[i] === '\r') i++;
  return i === line.length;
}
const FIX_SHAPE = 'start the file with a line ---, then the fields as YAML, then a line ---, then the body';

/**
 * Splits Markdown-with-frontmatter text (BOM already removed) into the YAML between the two `---` lines and the
 * body after the second. The body is returned byte for byte, line endings included.
 */
export function splitFrontmatter(text: string): SplitResult {
  const firstEnd = text.indexOf('\n');
  const first = firstEnd < 0 ? text : text.slice(0, firstEnd);
  if (!isFence(first)) {
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
    if (isFence(text.slice(lineStart, lineEnd))) {
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
