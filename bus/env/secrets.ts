/**
 * What looks like a secret in a file about to go on the bus (`gitbus env capture`), pure. Found secrets are
 * refused, never uploaded "just this once": a bus is read by every node and kept in git history for good.
 */

export interface SecretFinding {
  /** 1-based line of the file. */
  line: number;
  /** What it looks like, never the secret itself. */
  what: string;
}

const TOKENS: readonly (readonly [RegExp, string])[] = [
  [/-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP|SSH2 ENCRYPTED) )?PRIVATE KEY( BLOCK)?-----/, 'a private key'],
  [/\bghp_[A-Za-z0-9]{36,}/, 'a GitHub personal access token (ghp_…)'],
  [/\bgh[ousr]_[A-Za-z0-9]{36,}/, 'a GitHub token (gho_/ghu_/ghs_/ghr_…)'],
  [/\bgithub_pat_[A-Za-z0-9_]{22,}/, 'a GitHub fine-grained token (github_pat_…)'],
  [/\bsk-ant-[A-Za-z0-9_-]{20,}/, 'an Anthropic API key (sk-ant-…)'],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, 'an AWS access key id (AKIA…)'],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/, 'a Slack token (xoxb-/xoxp-…)'],
  [/\bsk-(proj-)?[A-Za-z0-9_-]{32,}/, 'an API key (sk-…)'],
  [/\bglpat-[A-Za-z0-9_-]{20,}/, 'a GitLab token (glpat-…)'],
  [/\bnpm_[A-Za-z0-9]{36,}/, 'an npm token (npm_…)'],
  [/\bAIza[0-9A-Za-z_-]{35}\b/, 'a Google API key (AIza…)'],
  [/\bya29\.[0-9A-Za-z_-]{20,}/, 'a Google OAuth access token (ya29.…)'],
  [/:\/\/[^\s/:@]+:[^\s/@]+@/, 'a password in a URL (scheme://user:password@host)'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}/i, 'an HTTP Authorization credential (Bearer/Basic …)'],
  [/_authToken\s*=\s*["']?[^\s"'$]/, 'an npm registry token (_authToken=…)'],
  // base64 of user:password, as an .npmrc holds it: not `_auth = requests.auth.HTTPBasicAuth(...)` in a Python file.
  [/(?:^|[\s/:])_auth\s*=\s*["']?[A-Za-z0-9+/]{8,}={0,2}["']?\s*$/, 'an npm registry credential (_auth=…)'],
];

/** A user name in an http(s) URL: where a token goes over http(s) (`https://TOKEN@host/`, in a git `url.….insteadOf`). */
const HTTP_USER = /\bhttps?:\/\/([^\s/?#@:'"`]+)@/gi;

/**
 * `NAME=value`, `NAME: value`, `"NAME": "value"`, with an optional `export`; the name's end says it is secret. A name
 * may follow ":" or "/" too (`//registry.example.com/:_password=…` in an .npmrc).
 */
const ASSIGNMENT = /(?:^|[\s{,;(:/])(?:export\s+)?["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*[:=]\s*["']?([^\s"'`,;})]+)/g;
const SECRET_NAME = /(token|secret|passw(or)?d|api_?key|_key|access_?key|auth_?key|credentials?|_pat)$/i;

/** Bits per character of a value: random tokens score high, words and placeholders low. */
export function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const n = [...value].length;
  let h = 0;
  for (const c of counts.values()) h -= (c / n) * Math.log2(c / n);
  return h;
}

/** Whether an assigned value looks like a real secret rather than a reference to one (`$VAR`, `$(cmd)`) or a placeholder. */
function looksRandom(value: string): boolean {
  if (value.length < 16) return false;
  if (/^[$<%{]/.test(value) || value.includes('$(') || value.includes('${')) return false;
  return /[0-9]/.test(value) && /[A-Za-z]/.test(value) && entropy(value) >= 3.5;
}

/** Every line of `text` that looks like it holds a secret: known token formats, private keys, a random-looking user name in an http(s) URL, and high-entropy `*_TOKEN=`/`*_KEY=` assignments. */
export function scanSecrets(text: string): SecretFinding[] {
  const out: SecretFinding[] = [];
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.length > 20_000) continue;
    const token = TOKENS.find(([re]) => re.test(line));
    if (token) {
      out.push({ line: i + 1, what: token[1] });
      continue;
    }
    if ([...line.matchAll(HTTP_USER)].some((m) => looksRandom(m[1] ?? ''))) {
      out.push({ line: i + 1, what: 'a token as the user name of an http(s) URL (https://TOKEN@host)' });
      continue;
    }
    for (const m of line.matchAll(ASSIGNMENT)) {
      const name = m[1] ?? '';
      const value = m[2] ?? '';
      if (SECRET_NAME.test(name) && looksRandom(value)) {
        out.push({ line: i + 1, what: `a secret-looking value assigned to ${name}` });
        break;
      }
    }
    if (out.length >= 20) break;
  }
  return out;
}
