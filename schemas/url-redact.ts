/**
 * URL credentials out of text gitbus shows or publishes. A remote URL may carry `user:password@` (a token in a
 * node.yaml project URL, a refused `--repo`), or over http(s) a token as the user name (`https://TOKEN@host`, as
 * GitHub and others take one): an error quoting it goes to a terminal, a --json document, an MCP client or, as a
 * task's failure reason, to every node's copy of the bus. In such text `scheme://user:secret@` is shown as
 * `scheme://user:***@` (the user name says which account), and `http(s)://user@` as `http(s)://***@`: over http(s) the
 * user name is where a token goes, which is why a handoff's `repo` leaves it out (publishableRepo). An SSH user name
 * stays: it is part of the address. Pure.
 */
const URL_PASSWORD_RE = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:'"`]*):([^\s/?#'"`]+)@/gi;
const HTTP_USER_RE = /\b(https?:\/\/)[^\s/?#@:'"`]+@/gi;

export function redactUrlCredentials(text: string): string {
  return text.includes('://') ? text.replace(URL_PASSWORD_RE, (_m, head: string) => `${head}:***@`).replace(HTTP_USER_RE, (_m, scheme: string) => `${scheme}***@`) : text;
}

/** `value` with redactUrlCredentials applied to every string in it (plain objects and arrays, as errors' data). Pure. */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactUrlCredentials(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, depth + 1)]));
}
