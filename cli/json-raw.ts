/**
 * JSON text as `--json` writes it (two-space indents), with the value of `key` given as JSON text already laid out
 * for its place, in pieces, written as they are: `status --json` writes its tasks as its status digest holds them, one
 * per line, rather than parse 2 MB and write 3 MB of JSON again at 5,000 tasks (issue 14,
 * bus/ops/status-tasks-json.ts). The result is in pieces too, for the caller to write one after the other. Pure.
 */
export function jsonWithRaw(value: object, key: string, raw: readonly Uint8Array[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let sep = '{\n';
  for (const [k, v] of Object.entries(value)) {
    const text = k === key ? '' : (JSON.stringify(v, null, 2) as string | undefined);
    // As JSON.stringify: an undefined field is left out.
    if (text === undefined) continue;
    // JSON.stringify escapes a line break inside a string: each one in its text is its own, and is indented.
    parts.push(Buffer.from(`${sep}  ${JSON.stringify(k)}: ${text.replace(/\n/g, '\n  ')}`, 'utf8'));
    if (k === key) for (const piece of raw) parts.push(piece);
    sep = ',\n';
  }
  parts.push(Buffer.from(sep === '{\n' ? '{}' : '\n}', 'utf8'));
  return parts;
}
