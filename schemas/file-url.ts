import { decodeUtf8Strict, encodeUtf8 } from './utf8.js';
/**
 * The path of a `file://` URL as git opens it: git decodes each `%XX` to one byte (a `%` without two hex digits
 * stays as written) and opens those bytes. Comparing or pattern-matching the URL as text is not comparing what git
 * opens (`x%2F..%2F..%2Fsecret.git` is three parts to git, one to a glob), so both go through the one spelling
 * here: the bytes, written as text such that equal spellings mean equal bytes.
 */


/** How many bytes the UTF-8 sequence led by `b` has, 0 when `b` leads none. */
function sequenceLength(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

function escaped(b: number): string {
  return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
}

/**
 * `bytes` as text: UTF-8 as is, and as `%XX` (upper-case) each byte that is no UTF-8, a `%` itself and each byte
 * `keep` marks. Reading undecodable bytes as U+FFFD instead would make `%E0`, `%FF` and a real U+FFFD one spelling
 * of three paths; a literal `%` left as is would make a folder named `%E0` the byte E0. Pure.
 */
export function byteSpelling(bytes: Uint8Array, keep: readonly boolean[] = []): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    const n = keep[i] ? 0 : sequenceLength(b);
    if (n === 1) {
      out += b === 0x25 ? '%25' : String.fromCharCode(b);
      i += 1;
      continue;
    }
    // A fatal decoder refuses overlong forms, surrogates and cut sequences: those bytes are escaped one by one.
    const seq = n > 1 && i + n <= bytes.length && !keep.slice(i + 1, i + n).some(Boolean) ? bytes.subarray(i, i + n) : null;
    let text: string | null = null;
    if (seq) {
      try {
        text = decodeUtf8Strict(seq);
      } catch {
        text = null;
      }
    }
    if (text !== null) {
      out += text;
      i += n;
    } else {
      out += escaped(b);
      i += 1;
    }
  }
  return out;
}

/**
 * A `file://` URL's text after `file://` (or a path), its `%XX` escapes decoded as git decodes them, spelled by
 * byteSpelling. `keepEscaped` names the characters that stay escaped when an escape wrote them: a policy glob's
 * `%2A` is a literal "*", not a wildcard. Pure.
 */
export function decodedPathSpelling(text: string, keepEscaped = ''): string {
  const bytes: number[] = [];
  const keep: boolean[] = [];
  const kept = new Set([...encodeUtf8(keepEscaped)]);
  for (const [i, part] of text.split(/(%[0-9a-fA-F]{2})/).entries()) {
    if (i % 2 === 1) {
      const b = Number.parseInt(part.slice(1), 16);
      bytes.push(b);
      keep.push(kept.has(b));
    } else {
      for (const b of encodeUtf8(part)) {
        bytes.push(b);
        keep.push(false);
      }
    }
  }
  return byteSpelling(Uint8Array.from(bytes), keep);
}

/** Whether git takes `url` as a `file://` URL (the scheme is case-sensitive to git: `FILE://` is no transport). Pure. */
export function isFileUrl(url: string): boolean {
  return url.startsWith('file://');
}

/** A `file://` URL with its path as git opens it (decodedPathSpelling); any other URL as written. Pure. */
export function decodedFileUrl(url: string, keepEscaped = ''): string {
  return isFileUrl(url) ? `file://${decodedPathSpelling(url.slice('file://'.length), keepEscaped)}` : url;
}

/**
 * The path text of a `file://` URL (escapes as written), or null when its host is another machine's or it has no
 * path. The host rule is the bus transport's (bus/transport/local.ts parseLocalRemote), which reads the URL as
 * WHATWG does: none, or `localhost` in any case or escaped, is this machine. git 2.39 ignores the host altogether;
 * a host gitbus would refuse as the bus is not taken for a path here either, so two spellings only compare equal
 * where both would be opened. Pure.
 */
export function localFileUrlPath(url: string): string | null {
  if (!isFileUrl(url)) return null;
  const rest = url.slice('file://'.length);
  const slash = rest.indexOf('/');
  if (slash === -1) return null;
  const host = rest.slice(0, slash);
  if (host !== '' && !isThisMachine(host)) return null;
  return rest.slice(slash);
}

/** A Windows drive where a URL's host goes (`file://C:/p`, `file://c|/p`): WHATWG reads it as a path, git as a host. */
const DRIVE_AS_HOST = /^[A-Za-z][:|]$/;

function isThisMachine(host: string): boolean {
  // git 2.39 drops it as the host it takes it for and opens /p; the transport would open /C:/p: neither is C:/p.
  if (DRIVE_AS_HOST.test(host)) return false;
  try {
    return new URL(`file://${host}/`).hostname === '';
  } catch {
    return false;
  }
}

/**
 * The host of a `file://` URL and its path (as written), when that host is not this machine by localFileUrlPath's
 * rule; null for any other URL or path. git 2.39 ignores the host and opens the path here, so `file://nas/srv/p.git`
 * reads this machine's /srv/p.git, not the one on nas: every reader refuses such a URL instead (otherHostFix). Pure.
 */
export function fileUrlOtherHost(url: string): { host: string; path: string } | null {
  if (!isFileUrl(url)) return null;
  const rest = url.slice('file://'.length);
  const slash = rest.indexOf('/');
  const host = slash === -1 ? rest : rest.slice(0, slash);
  if (host === '' || isThisMachine(host)) return null;
  return { host, path: slash === -1 ? '/' : rest.slice(slash) };
}

/** Why a `file://` URL on another host is refused, and what to write instead. Pure. */
export function otherHostFileUrl(url: string, other: { host: string; path: string }): { reason: string; fix: string } {
  if (DRIVE_AS_HOST.test(other.host)) {
    return {
      reason: `${JSON.stringify(url)} puts the drive ${other.host} where a URL's host goes: git ignores it and would open ${other.path} on this machine`,
      fix: `write the path itself (${other.host}${other.path}), or file:///${other.host}${other.path}`,
    };
  }
  return {
    reason: `${JSON.stringify(url)} names the host ${other.host}, but git ignores the host of a file:// URL and would open ${other.path} on this machine`,
    fix: `use the path this machine mounts it at (a shared disk), or ssh://${other.host}${other.path}`,
  };
}
