import { visibleText } from '../schemas/output-text.js';
import { isIP } from 'node:net';

/**
 * Headers on every answer. Everything shown comes from the bus, which anyone with push access writes: the page
 * runs only its own script files, loads nothing from elsewhere and may not be framed, so a value that slipped
 * through as markup still could not run or leak.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Methods the view answers; it changes nothing, so nothing else is accepted. */
export const ALLOWED_METHODS = ['GET', 'HEAD'] as const;

/** Whether `host` is an address every interface answers on (0.0.0.0, ::). */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/**
 * The Host header values the server accepts: the names it was asked to listen on, with the port. Any other value
 * is a page of another site whose name was pointed at this machine (DNS rebinding), which must not read the bus
 * through the browser of someone on it. Pure: `machine` is this machine's host name and interface addresses.
 */
export function allowedHosts(bound: string, port: number, machine: { hostname: string; addresses: string[] }): Set<string> {
  const names = new Set<string>();
  const loopback = bound === 'localhost' || bound === '127.0.0.1' || bound === '::1' || bound.startsWith('127.');
  names.add(bound);
  if (loopback || isWildcard(bound)) for (const n of ['localhost', '127.0.0.1', '::1']) names.add(n);
  if (isWildcard(bound)) {
    names.add(machine.hostname);
    for (const a of machine.addresses) names.add(a);
  }
  const out = new Set<string>();
  for (const n of names) {
    if (n === '' || isWildcard(n)) continue;
    const name = isIP(n) === 6 ? `[${n}]` : n.toLowerCase();
    out.add(`${name}:${port}`);
    // Browsers leave the port out when it is the scheme's default.
    if (port === 80) out.add(name);
  }
  return out;
}

/** Whether a request's Host header names this server. */
export function hostAllowed(header: string | undefined, allowed: ReadonlySet<string>): boolean {
  return header !== undefined && allowed.has(header.toLowerCase());
}

/** The URL a person opens for a server bound to `host`: a wildcard is reached through localhost. */
export function viewUrl(host: string, port: number): string {
  const name = isWildcard(host) ? '127.0.0.1' : isIP(host) === 6 ? `[${host}]` : host;
  return `http://${name}:${port}/`;
}

/**
 * A value as JSON for a page, every string in it with its control characters shown as the CLI shows them
 * (visibleText: `<U+202E>`, `^[`): a bidirectional override in a title would otherwise reorder what a person reads
 * (`Review invoice \u202Efdp.exe` reads as `exe.pdf`), an ESC or NUL would be invisible in a file.
 */
export function visibleJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? visibleText(v) : v));
}
