import { describe, expect, it } from 'vitest';
import { afterLineStartSpace, hasAsciiCaseless, hasLoneSurrogate, hasUrlScheme, isHttpUrl, isJsSpace, isPrefixAndDigits } from '../../schemas/text-scan.js';
import { opensReceiveOrExtensions, saysNotBare, setsSharedHooksOrFsck } from '../../bus/transport/git-config-scan.js';
import { isPlainName } from '../../bus/join-plain.js';
import { yamlString } from '../../schemas/yaml-line.js';
import { TIMESTAMP_RE, timestampGroups } from '../../schemas/timestamp.js';
import { DURATION_RE, durationParts } from '../../schemas/duration.js';
import { isFence } from '../../schemas/frontmatter-split.js';
import { conflictMarkerOf, isSeparator } from '../../schemas/file-text.js';
import { isSshRemote } from '../../bus/transport/ssh-url.js';
import { namesOwnDescriptor } from '../../cli/serve/client.js';
import { pick, prng, yamlishString } from '../helpers/seeded-random.js';

// Each scan stands for the regular expression it replaced (schemas/text-scan.ts): the expressions are the oracle
// here, on strings drawn from pieces that hit each of their branches.

/** `count` strings of 0..max pieces, with `seed`. */
function strings(seed: number, pieces: readonly string[], count = 20_000, max = 6): string[] {
  const rand = prng(seed);
  const out: string[] = [...pieces, ''];
  for (let i = 0; i < count; i++) {
    let s = '';
    const n = Math.floor(rand() * (max + 1));
    for (let k = 0; k < n; k++) s += pick(rand, pieces);
    out.push(s);
  }
  return out;
}

/** Every string where `scan` and `regex` disagree (none, for a faithful scan). */
function disagreements(inputs: readonly string[], scan: (s: string) => unknown, oracle: (s: string) => unknown): string[] {
  return inputs.filter((s) => JSON.stringify(scan(s)) !== JSON.stringify(oracle(s))).map((s) => JSON.stringify(s));
}

const SPACES = [' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '\u200b', '\u0085'];

describe('scans in place of regular expressions (schemas/text-scan.ts)', () => {
  it('\\s and ^\\s* as ECMAScript has them', () => {
    for (let c = 0; c < 0x10000; c++) expect(isJsSpace(c), c.toString(16)).toBe(/\s/.test(String.fromCharCode(c)));
    const inputs = strings(1, [...SPACES, 'x', 'bare']);
    expect(disagreements(inputs, (s) => afterLineStartSpace(s, s.length), (s) => /(?:^|[\n\r\u2028\u2029])\s*$/.test(s))).toEqual([]);
  });

  it('URL schemes, http(s) and ssh, letters in any case', () => {
    const inputs = strings(2, ['a', 'Z', 'h', 'H', 't', 'T', 'p', 'P', 's', 'S', 'g', 'G', 'i', 'I', '+', '.', '-', '0', '9', ':', '/', '//', '://', '@', '_', 'ſ', 'K', 'http', 'HTTPS', 'ssh', 'git+ssh', 'SSH+GIT']);
    expect(disagreements(inputs, hasUrlScheme, (s) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s))).toEqual([]);
    expect(disagreements(inputs, isHttpUrl, (s) => /^https?:\/\//i.test(s))).toEqual([]);
    const oldSsh = (remote: string): boolean => {
      if (/^(ssh|git\+ssh|ssh\+git):\/\//i.test(remote)) return true;
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(remote)) return false;
      const colon = remote.indexOf(':');
      const slash = remote.indexOf('/');
      return colon > 0 && (slash < 0 || colon < slash);
    };
    expect(disagreements(inputs, isSshRemote, oldSsh)).toEqual([]);
    expect(hasAsciiCaseless('HTTP://', 0, 'http://')).toBe(true);
    expect(hasAsciiCaseless('\u212Attp', 0, 'kttp')).toBe(false);
  });

  it("a local remote's config: bare = false, [receive] / [extensions], sharedRepository / hooksPath / fsckObjects", () => {
    const inputs = strings(3, [...SPACES, 'bare', 'BaRe', 'bar', 'e', '=', 'false', 'FALSE', 'fals', 'true', '[', ']', 'receive', 'extensions', 'receiver', 'x', '_', '.', 'sharedrepository', 'hookspath', 'fsckobjects', '[core]', '#']);
    expect(disagreements(inputs, saysNotBare, (s) => /^\s*bare\s*=\s*false\s*$/im.test(s))).toEqual([]);
    expect(disagreements(inputs, opensReceiveOrExtensions, (s) => /^\s*\[(receive|extensions)\b/m.test(s))).toEqual([]);
    expect(disagreements(inputs, setsSharedHooksOrFsck, (s) => /^\s*(sharedrepository|hookspath|fsckobjects)\s*=/m.test(s))).toEqual([]);
  });

  it('plain relative names for joinPlain', () => {
    const inputs = strings(4, ['a', 'refs', '/', '.', '..', '...', '\\', 'heads', ' ', '\n']);
    expect(disagreements(inputs, isPlainName, (s) => /^(?!\.\.?(?:\/|$))(?:[^/\\]+?)(?:\/(?!\.\.?(?:\/|$))[^/\\]+)*$/.test(s))).toEqual([]);
  });

  it('one line of YAML: every string yamlString takes, quotes or leaves to yaml, as the expressions decided', () => {
    const NOT_PLAIN_RE = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
    const CORE = [/^(?:~|[Nn]ull|NULL)?$/, /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, /^0o[0-7]+$/, /^[-+]?[0-9]+$/, /^0x[0-9a-fA-F]+$/, /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/, /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/, /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/];
    const LEFT = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
    const old = (value: string, inFlow: boolean): string | undefined => {
      if (LEFT.test(value)) return undefined;
      if (/^(?:%|---|\.\.\.)/.test(value)) return undefined;
      if ((inFlow && /[[\]{},]/.test(value)) || NOT_PLAIN_RE.test(value) || CORE.some((re) => re.test(value))) {
        return value.includes('"') && !value.includes("'") ? `'${value.replace(/'/g, "''")}'` : JSON.stringify(value);
      }
      return value;
    };
    const rand = prng(5);
    const inputs = Array.from({ length: 30_000 }, () => yamlishString(rand, 4));
    const numbers = strings(6, ['0', '1', '9', '7', '8', 'o', 'x', 'a', 'F', 'g', '.', 'e', 'E', '+', '-', 'inf', 'Inf', 'INF', 'nan', 'NaN', ' ']);
    for (const inFlow of [false, true]) {
      expect(disagreements([...inputs, ...numbers], (s) => yamlString(s, inFlow), (s) => old(s, inFlow))).toEqual([]);
    }
  });

  it('timestamps, durations, fences, conflict markers and lone surrogates', () => {
    const ts = strings(7, ['2026', '-', '11', '30', 'T', 't', ':', '59', '60', '.', '123', '123456789', '0', 'Z', 'z', '+', '01:00', '-05:30', '1', ' ', '2026-11-30T04:29:33', '2026-11-30T04:29:33.5'], 30_000, 5);
    expect(disagreements(ts, timestampGroups, (s) => {
      const m = TIMESTAMP_RE.exec(s);
      return m === null ? null : [...m];
    })).toEqual([]);
    const durations = strings(8, ['0', '1', '5', '9', '00', '123456789012345', 'ms', 's', 'm', 'h', 'd', 'M', 'S', ' ', 'x'], 20_000, 4);
    expect(disagreements(durations, durationParts, (s) => {
      const m = DURATION_RE.exec(s);
      return m === null ? undefined : { number: m[1], unit: m[2] };
    })).toEqual([]);
    const lines = strings(9, ['-', '---', ' ', '\t', '\r', '=', '=======', '<', '<<<<<<<', '>', '>>>>>>>', '|', '|||||||', 'x', '\n'], 20_000, 4);
    expect(disagreements(lines, isFence, (s) => /^---[ \t]*\r?$/.test(s))).toEqual([]);
    expect(disagreements(lines, conflictMarkerOf, (s) => /^(<{7}|>{7}|\|{7})(?:[ \t]|$)/.exec(s)?.[1])).toEqual([]);
    expect(disagreements(lines, isSeparator, (s) => /^={7}[ \t]*$/.test(s))).toEqual([]);
    const text = strings(10, ['a', '\ud800', '\udbff', '\udc00', '\udfff', '\ud83d\ude80', '\ud7ff', '\ue000']);
    expect(disagreements(text, hasLoneSurrogate, (s) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s))).toEqual([]);
  });

  it("a client's own descriptors named as files", () => {
    const paths = strings(11, ['/dev/fd/', '/proc/self/fd/', '/proc/thread-self/fd/', '/dev/fd', '0', '63', 'x', '/', '-', '٣'], 20_000, 3);
    expect(disagreements(paths, (p) => ['/dev/fd/', '/proc/self/fd/', '/proc/thread-self/fd/'].some((f) => isPrefixAndDigits(p, f)), (p) => /^\/(dev\/fd|proc\/self\/fd|proc\/thread-self\/fd)\/\d+$/.test(p))).toEqual([]);
    expect(namesOwnDescriptor(['dispatch', '--body-file', '/dev/fd/63'])).toBe('a file descriptor named as a file');
    expect(namesOwnDescriptor(['dispatch', '--body-file=/proc/self/fd/3', 'x'])).toBe('a file descriptor named as a file');
    expect(namesOwnDescriptor(['dispatch', '--body-file', '/dev/fd/'])).toBeNull();
  });
});
