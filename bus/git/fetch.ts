import { mathRandomHex } from '../../schemas/math-random.js';
import { nodeCrypto } from '../../schemas/node-crypto.js';
import type * as NodeFs from 'node:fs';
import { basename, join } from 'node:path';
import { GitbusError } from '../../schemas/errors.js';
import { GitServiceError } from '../transport/errors.js';
import type { Transport } from '../transport/transport.js';
import { GITBUS_AGENT } from './agent.js';
import { PackReadError, PktLineError } from './errors.js';
import { FetchFailedError, FetchWantGoneError } from './fetch-errors.js';
import { EXPLODE_BELOW_OBJECTS, writePackLoose } from './explode-pack.js';
import { assertOid } from './oid.js';
import { isoGit } from './iso-git.js';
import { readLoose } from '../store/loose-read.js';
import { makeDirsBelow } from '../store/make-dirs.js';
import { FLUSH_PKT, PktLineReader, concatBytes, encodePktLine, pktText } from './pkt-line.js';
import { readShallow, writeShallow } from './shallow.js';
import { withLock } from '../lock.js';
import { rename, rm, writeFile } from '../node-fs-async.js';
import { objectFile } from './object-path.js';

export interface FetchObjectsOptions {
  fs: typeof NodeFs;
  gitdir: string;
  cache: object;
  transport: Transport;
  /** The commit to fetch (the remote ref's current value from listRefs). */
  want: string;
  /**
   * The remote ref `want` was listed from. Over a stateful transport (SSH) the serving process accepts only the
   * tips it advertised itself, and the ref may have moved since the listing: the fetch then wants the ref's value
   * in that advertisement instead (`fetched` in the result). Elsewhere `want` is fetched as given (stateless
   * services accept any commit reachable from a ref, and a bus's main only moves forward).
   */
  ref?: string;
  /** Commits we already have (typically our current tip); the remote leaves out everything they reach. */
  haves: readonly string[];
  /** Fetch only this many commits of history from `want` (shallow), like `git fetch --depth`. */
  depth?: number;
  /** Packs with fewer objects than this become loose objects. Default EXPLODE_BELOW_OBJECTS (1000). */
  explodeBelow?: number;
  /**
   * More objects to fetch in the same exchange. Any object (a tree, a blob), not only a ref's tip: the remote must
   * allow it (uploadpack.allowAnySHA1InWant or allowReachableSHA1InWant), else it answers `not our ref`.
   */
  alsoWant?: readonly string[];
  /**
   * An object filter (`tree:0`, `tree:1`, `blob:none`), which the remote must allow (uploadpack.allowFilter). An
   * explicitly wanted object is always sent; `tree:0` then sends nothing below a wanted tree, `tree:1` on a wanted
   * commit adds only its root tree (verified with git 2.39; see bus/archive/path-read.ts).
   */
  filter?: string;
  /**
   * Leave `gitdir/shallow` alone: for a depth-1 read of a commit no ref will point to (a path read of the archive),
   * whose missing parents nothing will ever look for. Default false.
   */
  detached?: boolean;
  /**
   * Only the history newer than this (Unix seconds, a commit's committer time), as `git fetch --shallow-since`: the
   * remote sends no commit older, and names as shallow the commits whose parents it left out. Needs git 2.11 on the
   * remote; one too old for it, or with nothing newer to send, fails the fetch (the caller fetches again without).
   */
  deepenSince?: number;
  /**
   * Do not add the commits the remote names as shallow to `gitdir/shallow` (they are returned as `offered`): the
   * caller adds them once it knows the history it got will do, and fetches the rest with the remote unaware of them.
   */
  holdNewShallow?: boolean;
}

export interface FetchObjectsResult {
  /** The commit fetched: `want`, or the newer tip of `ref` the remote advertised in the exchange itself. */
  fetched: string;
  /** Objects received. 0 when we already had everything. */
  objectCount: number;
  packBytes: number;
  /** Set when the pack was kept (too big to explode): `objects/pack/pack-<sha>.pack` relative to gitdir. */
  packfile: string | undefined;
  /** Whether the pack was turned into loose objects. */
  exploded: boolean;
  /** `gitdir/shallow` after the fetch (empty: not shallow). */
  shallow: string[];
  /** With `holdNewShallow`: the commits the remote named as shallow whose parents the clone lacks, not yet added. */
  offered: string[];
}

function wantGone(err: GitServiceError | string): boolean {
  const text = typeof err === 'string' ? err : `${err.stderr}\n${Buffer.from(err.stdout).toString('utf8')}`;
  return /not our ref/.test(text);
}

interface Negotiation {
  shallow: string[];
  unshallow: string[];
  pack: Uint8Array;
}

/**
 * Response without side-band: [shallow/unshallow lines, flush] (only when deepening), then `NAK` or one
 * `ACK <oid>` (no multi_ack requested), then the raw pack. An `ERR` packet replaces all of it on failure.
 */
function parseResponse(buf: Uint8Array, want: string, remote: string): Negotiation {
  const reader = new PktLineReader(buf);
  const out: Negotiation = { shallow: [], unshallow: [], pack: new Uint8Array(0) };
  for (;;) {
    const pkt = reader.next();
    if (pkt.type !== 'data') continue; // the flush closing the shallow section
    const line = pktText(pkt.data);
    const m = /^(shallow|unshallow) ([0-9a-f]{40})$/.exec(line);
    if (m?.[1] && m[2]) {
      (m[1] === 'shallow' ? out.shallow : out.unshallow).push(m[2]);
    } else if (line === 'NAK' || line.startsWith('ACK ')) {
      out.pack = reader.rest();
      return out;
    } else if (line.startsWith('ERR ')) {
      if (wantGone(line)) throw new FetchWantGoneError(want, remote);
      throw new FetchFailedError(`${remote} refused the fetch: ${line.slice(4)}`, { want, remote });
    } else {
      throw new FetchFailedError(`${remote} sent an unexpected line while fetching: ${JSON.stringify(line)}`, { want, remote });
    }
  }
}

/** Header and trailing checksum; returns the object count. A torn pack must never reach objects/pack. */
function checkPack(pack: Uint8Array, remote: string): { count: number; sha: string } {
  const fail = (why: string): never => {
    throw new FetchFailedError(`the pack from ${remote} is invalid: ${why}`, { remote, bytes: pack.length });
  };
  if (pack.length < 32) fail(`only ${pack.length} bytes`);
  const b = Buffer.from(pack.buffer, pack.byteOffset, pack.byteLength);
  if (b.toString('latin1', 0, 4) !== 'PACK') fail('no PACK signature');
  const version = b.readUInt32BE(4);
  if (version !== 2 && version !== 3) fail(`unsupported pack version ${version}`);
  const sha = b.subarray(b.length - 20).toString('hex');
  const actual = nodeCrypto().createHash('sha1').update(b.subarray(0, b.length - 20)).digest('hex');
  if (actual !== sha) fail('checksum mismatch (truncated or corrupted in transit)');
  return { count: b.readUInt32BE(8), sha };
}

/**
 * Whether we hold every parent of `oid` (read from the objects just written). Loose objects, which every fetch
 * below 1,000 objects and every join writes, are read without isomorphic-git (~35 ms to load, issue 14); packed
 * ones through it.
 */
async function hasAllParents(fs: typeof NodeFs, gitdir: string, cache: object, oid: string): Promise<boolean> {
  try {
    const content = await commitContent(fs, gitdir, cache, oid);
    if (content === null) return false;
    const headerEnd = content.indexOf('\n\n');
    const header = content.toString('utf8', 0, headerEnd < 0 ? content.length : headerEnd);
    let packs: boolean | undefined;
    for (const [, p = ''] of header.matchAll(/^parent ([0-9a-f]{40})$/gm)) {
      if (fs.existsSync(objectFile(gitdir, p))) continue;
      // A shallow clone lacks the parents of its tips: without a pack there is nowhere else to look.
      packs ??= fs.readdirSync(join(gitdir, 'objects', 'pack')).some((f) => f.endsWith('.pack'));
      if (!packs) return false;
      try {
        await (await isoGit()).readObject({ fs, gitdir, oid: p, format: 'deflated', cache });
      } catch {
        return false;
      }
    }
    return true;
  } catch {
    return false;
  }
}

async function commitContent(fs: typeof NodeFs, gitdir: string, cache: object, oid: string): Promise<Buffer | null> {
  const loose = await readLoose(gitdir, oid);
  if (loose) return loose.type === 'commit' ? loose.content : null;
  const obj = await (await isoGit()).readObject({ fs, gitdir, oid, format: 'content', cache });
  return obj.format === 'content' ? Buffer.from(obj.object as Uint8Array) : null;
}

/**
 * Fetch the objects for one commit with a single stateless upload-pack exchange (protocol v0/v1), without
 * asking for the ref advertisement first: the caller has just read the remote's refs (Transport.listRefs) and
 * knows what it wants. Refs are not touched; the caller moves its own refs afterwards.
 *
 * No side-band is requested: the pack then follows the last pkt-line directly and is used as it arrives,
 * without copying it out of 64k frames; remote errors arrive as an `ERR` packet before any pack data or as a
 * failed service (and for other transports a truncated pack fails the checksum).
 *
 * Throws FetchWantGoneError when the remote no longer has `want` reachable from a ref (re-read refs, retry).
 * Safe to run concurrently with other fetches into, and reads from, the same gitdir.
 */
export async function fetchObjects(opts: FetchObjectsOptions): Promise<FetchObjectsResult> {
  const { fs, gitdir, cache, transport, want } = opts;
  const remote = transport.display;
  assertOid(want, 'wanted object id');
  for (const h of opts.haves) assertOid(h, 'have object id');
  if (opts.depth !== undefined && !(Number.isInteger(opts.depth) && opts.depth > 0)) {
    throw new FetchFailedError(`depth must be a positive integer, got ${opts.depth}`, { depth: opts.depth });
  }
  for (const w of opts.alsoWant ?? []) assertOid(w, 'wanted object id');
  if (opts.filter !== undefined && !/^(tree:\d{1,3}|blob:none)$/.test(opts.filter)) {
    throw new FetchFailedError(`unsupported object filter ${JSON.stringify(opts.filter)}`, { filter: opts.filter });
  }
  const shallow = await readShallow(gitdir);

  // Tell the remote our shallow boundaries (it must not assume we have their parents), like git does when the
  // repository is shallow; the `shallow` capability announces that we understand shallow lines in the reply.
  const caps = ['ofs-delta', 'no-progress'];
  if (opts.depth !== undefined || opts.deepenSince !== undefined || shallow.size > 0) caps.push('shallow');
  if (opts.deepenSince !== undefined) caps.push('deepen-since');
  if (opts.filter !== undefined) caps.push('filter');
  caps.push(`agent=${GITBUS_AGENT}`);
  const request = (tip: string): Uint8Array => {
    const lines: Uint8Array[] = [encodePktLine(`want ${tip} ${caps.join(' ')}\n`)];
    for (const oid of new Set(opts.alsoWant ?? [])) if (oid !== tip) lines.push(encodePktLine(`want ${oid}\n`));
    for (const oid of shallow) lines.push(encodePktLine(`shallow ${oid}\n`));
    if (opts.depth !== undefined) lines.push(encodePktLine(`deepen ${opts.depth}\n`));
    if (opts.deepenSince !== undefined) lines.push(encodePktLine(`deepen-since ${Math.max(0, Math.floor(opts.deepenSince))}\n`));
    if (opts.filter !== undefined) lines.push(encodePktLine(`filter ${opts.filter}\n`));
    lines.push(FLUSH_PKT);
    for (const h of new Set(opts.haves)) lines.push(encodePktLine(`have ${h}\n`));
    lines.push(encodePktLine('done\n'));
    return concatBytes(lines);
  };

  let fetched = want;
  let response: Uint8Array;
  try {
    const ref = opts.ref;
    response =
      ref !== undefined && transport.rpcAdvertised
        ? await transport.rpcAdvertised('git-upload-pack', (advertised) => {
            // A ref the service no longer has: ask for the listed commit, and its refusal says the ref is gone.
            fetched = advertised.get(ref) ?? want;
            return request(fetched);
          })
        : await transport.rpc('git-upload-pack', request(want));
  } catch (err) {
    if (err instanceof GitServiceError && wantGone(err)) throw new FetchWantGoneError(fetched, remote, err);
    if (err instanceof GitbusError && !(err instanceof GitServiceError)) throw err; // CLI missing, timeout
    throw new FetchFailedError(`fetch of ${fetched} from ${remote} failed: ${err instanceof Error ? err.message : String(err)}`, { want: fetched, remote }, err);
  }

  let negotiation: Negotiation;
  try {
    negotiation = parseResponse(response, fetched, remote);
  } catch (err) {
    if (err instanceof PktLineError) {
      throw new FetchFailedError(`${remote} sent a malformed response to a fetch`, { want: fetched, remote }, err);
    }
    throw err;
  }
  const { count, sha } = checkPack(negotiation.pack, remote);
  const packName = `pack-${sha}`;
  let packfile: string | undefined;
  let exploded = false;
  if (count > 0 && count < (opts.explodeBelow ?? EXPLODE_BELOW_OBJECTS)) {
    // Read once, in order, straight into loose objects: each is written atomically, so other processes of the node
    // see an object whole or not at all, and no pack is ever indexed for it (join's 5,000-object pack: issue 14).
    try {
      await writePackLoose(fs, gitdir, negotiation.pack, `${packName} from ${remote}`);
    } catch (err) {
      if (err instanceof PackReadError) throw new FetchFailedError(`the pack from ${remote} is invalid: ${err.data['reason'] as string}`, { want: fetched, remote }, err);
      throw err;
    }
    exploded = true;
  } else if (count > 0) {
    // Indexed in a folder of this fetch's own: other processes of the node fetch into the same clone at the same
    // time (nothing holds a lock across network I/O), and must never see a half-written pack or have one deleted
    // under them. The pack is self-contained (no thin-pack asked for), so it indexes on its own.
    const incoming = join(gitdir, 'gitbus-incoming', `${process.pid}-${mathRandomHex(4)}`);
    try {
      makeDirsBelow(fs, gitdir, 'gitbus-incoming', basename(incoming), 'objects', 'pack');
      const tmpPack = `objects/pack/${packName}.pack`;
      await writeFile(join(incoming, tmpPack), negotiation.pack);
      await (await isoGit()).indexPack({ fs, dir: incoming, gitdir: incoming, filepath: tmpPack, cache: {} });
      // Pack before index: isomorphic-git finds packs by their .idx, so a pack is never seen without its data.
      packfile = `objects/pack/${packName}.pack`;
      makeDirsBelow(fs, gitdir, 'objects', 'pack');
      await rename(join(incoming, packfile), join(gitdir, packfile));
      await rename(join(incoming, 'objects', 'pack', `${packName}.idx`), join(gitdir, 'objects', 'pack', `${packName}.idx`));
    } finally {
      await rm(incoming, { recursive: true, force: true });
    }
  }

  // Like isomorphic-git: a commit the remote calls shallow becomes a boundary only if we lack some parent (we may
  // hold more history than the remote assumed); `unshallow` means its parents came in this pack. Read again and
  // written under a short lock of its own (git's name for it), since other fetches of this node may change it.
  if (opts.detached) return { fetched, objectCount: count, packBytes: negotiation.pack.length, packfile, exploded, shallow: [...shallow].sort(), offered: [] };
  const offered: string[] = [];
  const nextShallow = await withLock(join(gitdir, 'shallow.lock'), async () => {
    const current = await readShallow(gitdir);
    const next = new Set(current);
    for (const oid of negotiation.shallow) {
      if (next.has(oid) || (await hasAllParents(fs, gitdir, cache, oid))) continue;
      if (opts.holdNewShallow) offered.push(oid);
      else next.add(oid);
    }
    for (const oid of negotiation.unshallow) next.delete(oid);
    if (next.size !== current.size || [...next].some((o) => !current.has(o))) await writeShallow(gitdir, next);
    return next;
  });

  return { fetched, objectCount: count, packBytes: negotiation.pack.length, packfile, exploded, shallow: [...nextShallow].sort(), offered };
}
