import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { encodePktLine } from '../bus/git/pkt-line.js';

/**
 * The fleet host's ref listing (GET info/refs?service=git-upload-pack) answered from the bare repository's ref
 * files, without a `git http-backend` process per listing. A hosting service answers a listing from its ref store;
 * a process start per listing is this bench's own cost, not a host's, and on two cores shared with 100 watchers
 * it was what the bench measured: at ~80 ms of CPU per listing (fork of the host's Node process and
 * http-backend, on a machine whose process starts are slow) a fleet's 3-14 listings a second kept a core busy,
 * round trips took seconds and the claim ranking measured the machine (docs/PERFORMANCE.md, session 16).
 *
 * The answer is git's own: the capabilities are those `git http-backend` advertised for this repository at the
 * first listing (`capabilities`), the refs are read as git reads them (loose refs over packed-refs, HEAD as a
 * symbolic ref), sorted by name, in the same pkt-lines.
 */

/** The capability string of a real listing's first line (after the NUL), or undefined if it has none. */
export function capabilitiesOf(advertisement: Uint8Array): string | undefined {
  const text = Buffer.from(advertisement).toString('latin1');
  const nul = text.indexOf('\0');
  if (nul < 0) return undefined;
  const end = text.indexOf('\n', nul);
  return text.slice(nul + 1, end < 0 ? undefined : end);
}

/** Every ref of a bare repository as git sees it: loose ref files over `packed-refs`; symbolic refs left out. */
export function readRefs(gitdir: string): Map<string, string> {
  const refs = new Map<string, string>();
  const packed = join(gitdir, 'packed-refs');
  if (existsSync(packed)) {
    for (const line of readFileSync(packed, 'utf8').split('\n')) {
      if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
      const [oid, name] = line.split(' ');
      if (oid && name && /^[0-9a-f]{40}$/.test(oid)) refs.set(name, oid);
    }
  }
  const walk = (rel: string) => {
    let entries;
    try {
      entries = readdirSync(join(gitdir, rel), { withFileTypes: true });
    } catch {
      return; // removed while we read (a ref pruned by git)
    }
    for (const e of entries) {
      const name = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(name);
      else if (e.isFile() && !e.name.endsWith('.lock')) {
        let text: string;
        try {
          text = readFileSync(join(gitdir, name), 'utf8').trim();
        } catch {
          continue;
        }
        if (/^[0-9a-f]{40}$/.test(text)) refs.set(name, text);
      }
    }
  };
  walk('refs');
  return refs;
}

/** The upload-pack advertisement of `gitdir` as smart HTTP serves it, with `caps` on its first line. */
export function advertisement(gitdir: string, caps: string): Buffer {
  const refs = readRefs(gitdir);
  const lines: Uint8Array[] = [encodePktLine('# service=git-upload-pack\n'), Buffer.from('0000')];
  let head: string | undefined;
  try {
    const text = readFileSync(join(gitdir, 'HEAD'), 'utf8').trim();
    head = text.startsWith('ref: ') ? refs.get(text.slice(5)) : /^[0-9a-f]{40}$/.test(text) ? text : undefined;
  } catch {
    head = undefined;
  }
  const names = [...refs.keys()].sort();
  const all: [string, string][] = head ? [['HEAD', head]] : [];
  for (const n of names) all.push([n, refs.get(n) ?? '']);
  if (all.length === 0) lines.push(encodePktLine(`${'0'.repeat(40)} capabilities^{}\0${caps}\n`));
  all.forEach(([name, oid], i) => lines.push(encodePktLine(i === 0 ? `${oid} ${name}\0${caps}\n` : `${oid} ${name}\n`)));
  lines.push(Buffer.from('0000'));
  return Buffer.concat(lines);
}
