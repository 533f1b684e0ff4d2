import { fs } from '../node-fs.js';
import { join } from 'node:path';
import { GitbusError } from '../../schemas/errors.js';
import { fetchObjects } from '../git/fetch.js';
import { FetchFailedError, FetchWantGoneError } from '../git/fetch-errors.js';
import type { BusRepo } from '../repo.js';
import { GitServiceError } from '../transport/errors.js';
import { servesPathReads } from './capabilities.js';
import { advertisedCapabilities } from '../git/capabilities.js';

/**
 * Reads objects of the archive branch by id, one level of a path at a time, instead of fetching the branch: a
 * wanted commit with filter `tree:1` brings the commit and its root tree, a wanted tree with `tree:0` brings that
 * tree alone, a wanted tree without a filter brings it and everything below (checked with git 2.39 upload-pack:
 * explicitly wanted objects are always sent, the filter applies to what they reach). Each read is one upload-pack
 * exchange; what arrives is a handful of objects, kept as loose objects in the clone, so later reads of the same
 * trees (the shards) cost nothing. No ref is written: a commit read this way is not a complete copy of the branch.
 *
 * The remote must allow wants of any object and filters (uploadpack.allowAnySHA1InWant or allowReachableSHA1InWant,
 * and uploadpack.allowFilter); a local remote always does (we pass those options to the upload-pack we spawn),
 * GitHub does. When it refuses, PathReadRefusedError says so and the caller falls back to a shallow fetch.
 */
export class PathReadRefusedError extends GitbusError {
  readonly code = 'ARCHIVE_PATH_READ_REFUSED';
  constructor(remote: string, said: string, cause?: unknown) {
    super(
      `${remote} does not serve single objects of the archive (${said})`,
      'allow it on the server: `git config uploadpack.allowFilter true` and `git config uploadpack.allowAnySHA1InWant true` in the bare repository (gitbus falls back to a shallow fetch of the archive meanwhile)',
      { remote, said },
      cause === undefined ? undefined : { cause },
    );
  }
}

/** What upload-pack says when it will not serve a filter or a non-tip want. */
const REFUSED_RE = /filtering capability not negotiated|filter.*not (supported|allowed)|not our ref|unadvertised object|allow-(tip|reachable|any)-sha1/i;

/** How long a remote's refusal is remembered before path reads are tried again (its config may have changed). */
const REFUSAL_MEMORY_MS = 6 * 60 * 60 * 1000;
const REFUSAL_FILE = 'gitbus-archive-path-reads';

export type ArchiveFilter = 'tree:0' | 'tree:1';

export interface PathReadStats {
  /** upload-pack exchanges made. */
  requests: number;
  /** Objects received. */
  objects: number;
}

/** Where the objects of the archive's paths come from (this file, cat-file.ts, shallow-tip.ts). */
export interface ArchiveObjectSource {
  readonly stats: PathReadStats;
  /**
   * Makes sure `oids` are loose in the clone: each object alone (`tree:0`), a commit with its root tree (`tree:1`),
   * or (no filter) each with everything below it.
   */
  ensure(oids: readonly string[], filter?: ArchiveFilter, noted?: boolean): Promise<void>;
  close?(): void;
}

export class ArchivePathReader implements ArchiveObjectSource {
  readonly stats: PathReadStats = { requests: 0, objects: 0 };

  constructor(private readonly repo: BusRepo) {}

  /** Whether the remote refused path reads recently (remembered in the clone, for every process of the node). */
  refusedRecently(now = Date.now()): boolean {
    try {
      return now - fs.statSync(join(this.repo.gitdir, REFUSAL_FILE)).mtimeMs < REFUSAL_MEMORY_MS;
    } catch {
      return false;
    }
  }

  private rememberRefusal(said: string): void {
    try {
      fs.writeFileSync(join(this.repo.gitdir, REFUSAL_FILE), `${said}\n`);
    } catch {
      // Only a hint that saves one failed request per process; the next process asks the remote again.
    }
  }

  /**
   * Some servers answer a refused request with an empty or cut-off response (git http-backend does): when a read
   * failed that way, the remote's advertisement says whether it was a refusal.
   */
  private async refusedByCapabilities(err: unknown): Promise<string | null> {
    if (!(err instanceof GitServiceError) && !(err instanceof FetchFailedError)) return null;
    try {
      const caps = advertisedCapabilities(await this.repo.transport.advertise('git-upload-pack'));
      return servesPathReads(caps) ? null : 'the remote advertises no filter or any-object wants';
    } catch {
      return null;
    }
  }

  /**
   * Makes sure `oids` are in the clone, fetching the missing ones in one exchange. `noted`: ids that main's
   * `archive-shards` named, which a hand-written file may get wrong: a refusal of those says nothing of the remote.
   */
  async ensure(oids: readonly string[], filter?: ArchiveFilter, noted = false): Promise<void> {
    const missing: string[] = [];
    for (const oid of new Set(oids)) if (!(await this.repo.hasObject(oid))) missing.push(oid);
    const [first, ...rest] = missing;
    if (first === undefined) return;
    this.stats.requests++;
    try {
      const got = await fetchObjects({
        fs,
        gitdir: this.repo.gitdir,
        cache: this.repo.store.cache,
        transport: this.repo.transport,
        want: first,
        alsoWant: rest,
        haves: [],
        // A wanted commit would bring its whole history of commits (filters never leave out commits): its tip only.
        ...(filter === 'tree:1' ? { depth: 1, detached: true } : {}),
        ...(filter ? { filter } : {}),
        explodeBelow: Number.POSITIVE_INFINITY,
      });
      this.stats.objects += got.objectCount;
    } catch (err) {
      if (noted) throw err;
      const said = refusal(err) ?? (await this.refusedByCapabilities(err));
      if (said === null) throw err;
      this.rememberRefusal(said);
      throw new PathReadRefusedError(this.repo.transport.display, said, err);
    }
  }
}

/** The server's words when `err` is a refusal of a filter or of a non-tip want; null for any other failure. */
function refusal(err: unknown): string | null {
  if (err instanceof FetchWantGoneError) return 'not our ref';
  if (!(err instanceof GitServiceError) && !(err instanceof FetchFailedError)) return null;
  const text = err instanceof GitServiceError ? `${err.stderr}\n${Buffer.from(err.stdout).toString('utf8')}` : err.message;
  const m = REFUSED_RE.exec(text);
  return m ? m[0] : null;
}
