/**
 * URL passwords out of text gitbus shows or publishes. A remote URL may carry `user:password@` (a token in a
 * node.yaml project URL, a refused `--repo`): an error quoting it goes to a terminal, a --json document, an MCP
 * client or, as a task's failure reason, to every node's copy of the bus. Anything of the form
 * `scheme://user:secret@` in such text is shown as `scheme://user:***@`; the user name stays (it is no secret and
 * says which account). Pure.
 */
const URL_PASSWORD_RE = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:'"`]*):([^\s/?#'"`]+)@/gi;

export function redactUrlPasswords(text: string): string {
  return text.includes('://') ? text.replace(URL_PASSWORD_RE, (_m, head: string) => `${head}:***@`) : text;
}

/** `value` with redactUrlPasswords applied to every string in it (plain objects and arrays, as errors' data). Pure. */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactUrlPasswords(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, depth + 1)]));
}
