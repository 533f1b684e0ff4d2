import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { joinPlain } from '../join-plain.js';

const OID_RE = /^[0-9a-f]{40}$/;
const MAX_SYMREF_DEPTH = 5;

/**
 * The refs of a repository read straight from its files (the "files" ref backend): loose refs under refs/,
 * packed-refs, and HEAD. This is what `git ls-remote` shows, minus peeled `^{}` entries, without spawning git.
 *
 * Loose refs are read before packed-refs: `git pack-refs` writes packed-refs first and deletes the loose file
 * after, so this order never misses a ref that is being packed concurrently.
 */
export async function readRefsFromDisk(gitdir: string): Promise<Map<string, string>> {
  const values = new Map<string, string>(); // name -> oid or "ref: <target>"
  await walkLooseRefs(gitdir, 'refs', values);
  const packed = await readPackedRefs(gitdir);
  for (const [name, oid] of packed) if (!values.has(name)) values.set(name, oid);

  const out = new Map<string, string>();
  const head = await readRefFile(joinPlain(gitdir, 'HEAD'));
  if (head !== undefined) {
    const oid = resolve(head, values);
    if (oid) out.set('HEAD', oid);
  }
  for (const name of [...values.keys()].sort(byteOrder)) {
    const oid = resolve(values.get(name) ?? '', values);
    if (oid) out.set(name, oid);
  }
  return out;
}

/**
 * One ref's commit as readRefsFromDisk would give it, without listing every ref: a push's compare-and-swap reads
 * only the ref it moves (a bus's heartbeat refs made that listing most of a direct push, issue 14). Its loose file
 * first, then packed-refs, in the order and for the reason above; a loose value that is not an oid (a symbolic ref,
 * junk) is left to the full read.
 */
export async function readRefFromDisk(gitdir: string, ref: string): Promise<string | undefined> {
  const path = joinPlain(gitdir, ref);
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if (!isCode(err, 'ENOENT') && !isCode(err, 'ENOTDIR')) throw err;
    return (await readPackedRefs(gitdir)).get(ref);
  }
  // A link (to the ref file or among its folders, which the listing's walk does not follow) or a folder: the
  // listing decides, as for any other odd loose ref.
  const loose = st.isFile() && realLeaf(gitdir, ref) ? await readRefFile(path) : undefined;
  if (loose !== undefined && OID_RE.test(loose)) return loose;
  return (await readRefsFromDisk(gitdir)).get(ref);
}

/** Whether every folder of `ref` below the repository is a folder, not a link to one (the listing walks folders only). */
function realLeaf(gitdir: string, ref: string): boolean {
  const parts = ref.split('/');
  let dir = gitdir;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    if (!lstatSync(dir).isDirectory()) return false;
  }
  return true;
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function resolve(value: string, values: Map<string, string>): string | undefined {
  let v = value;
  for (let i = 0; i <= MAX_SYMREF_DEPTH; i++) {
    if (OID_RE.test(v)) return v;
    if (!v.startsWith('ref: ')) return undefined;
    const next = values.get(v.slice(5).trim());
    if (next === undefined) return undefined; // unborn branch
    v = next;
  }
  return undefined;
}

async function readRefFile(path: string): Promise<string | undefined> {
  try {
    // Synchronous: a ref file is a few bytes, and sync reads are several times cheaper than the thread pool here.
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    // Deleted between readdir and read (a ref being removed or packed): it is simply not there.
    // ENOTDIR: a folder of the ref's path is a file (readRefFromDisk's path, which no listing gave).
    if (isCode(err, 'ENOENT') || isCode(err, 'EISDIR') || isCode(err, 'ENOTDIR')) return undefined;
    throw err;
  }
}

async function walkLooseRefs(gitdir: string, rel: string, into: Map<string, string>): Promise<void> {
  let entries;
  try {
    entries = readdirSync(join(gitdir, rel), { withFileTypes: true });
  } catch (err) {
    if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return;
    throw err;
  }
  await Promise.all(
    entries.map(async (e) => {
      const name = `${rel}/${e.name}`;
      if (e.isDirectory()) return walkLooseRefs(gitdir, name, into);
      // `.lock` files are updates in progress; the ref's current value is still in the file without the suffix.
      if (!e.isFile() || e.name.endsWith('.lock')) return;
      const value = await readRefFile(joinPlain(gitdir, name));
      if (value !== undefined && (OID_RE.test(value) || value.startsWith('ref: '))) into.set(name, value);
    }),
  );
}

async function readPackedRefs(gitdir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const text = await readRefFile(joinPlain(gitdir, 'packed-refs'));
  if (!text) return out;
  for (const line of text.split('\n')) {
    // '#' is the header with traits, '^' the peeled value of the tag above.
    if (line.startsWith('#') || line.startsWith('^')) continue;
    const m = /^([0-9a-f]{40}) (refs\/\S+)$/.exec(line.trim());
    if (m?.[1] && m[2]) out.set(m[2], m[1]);
  }
  return out;
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
