/**
 * URL credentials out of text gitbus shows or publishes. A remote URL may carry `user:password@` (a token in a
 * node.yaml project URL, a refused `--repo`), and over http(s) a token goes in the user name as often as in the
 * password (`https://TOKEN@host`, GitHub's `https://TOKEN:x-oauth-basic@host`): an error quoting it goes to a
 * terminal, a --json document, an MCP client or, as a task's failure reason, to every node's copy of the bus. In such
 * text the whole user part of an http(s) URL is shown as `***` (`https://***@host`), as a handoff's `repo` leaves it
 * out (publishableRepo), and another scheme's password is (`ssh://user:***@host`: there the user name is part of the
 * address). A user part has no white space, quotes, brackets, `,;|` or `/?#@`, so that text around a URL is not
 * taken for one (`see https://a.org, bob@b.org`). Pure.
 */
const HTTP_USERINFO_RE = /\b(https?:\/\/)[^\s/?#@'"`,;|()<>[\]{}]+@/gi;
const URL_PASSWORD_RE = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:'"`]*):([^\s/?#'"`]+)@/gi;

export function redactUrlCredentials(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(HTTP_USERINFO_RE, (_m, scheme: string) => `${scheme}***@`).replace(URL_PASSWORD_RE, (_m, head: string) => `${head}:***@`);
}

/** `value` with redactUrlCredentials applied to every string in it (plain objects and arrays, as errors' data). Pure. */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactUrlCredentials(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, depth + 1)]));
}
