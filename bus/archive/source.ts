import type { BusRepo } from '../repo.js';
import { CatFileSource } from './cat-file.js';
import { ArchivePathReader, PathReadRefusedError, type ArchiveFilter, type ArchiveObjectSource, type PathReadStats } from './path-read.js';
import { shallowTipSource } from './shallow-tip.js';

export type ArchiveReadMode = 'direct' | 'path' | 'shallow';

/**
 * Path reads through upload-pack; when the remote refuses them, the shallow tip (shallow-tip.ts) from then on,
 * the same request asked again of it.
 */
class FallingBack implements ArchiveObjectSource {
  private current: ArchiveObjectSource;
  mode: ArchiveReadMode;
  constructor(
    private readonly reader: ArchivePathReader,
    private readonly fallback: () => Promise<ArchiveObjectSource>,
  ) {
    this.current = reader;
    this.mode = 'path';
  }
  get stats(): PathReadStats {
    return this.current.stats;
  }
  async ensure(oids: readonly string[], filter?: ArchiveFilter, noted = false): Promise<void> {
    if (this.mode === 'path' && this.reader.refusedRecently()) await this.switch();
    try {
      await this.current.ensure(oids, filter, noted);
    } catch (err) {
      // What main's note named may simply be wrong: the caller reads the archive's path instead.
      if (noted || !(err instanceof PathReadRefusedError) || this.mode !== 'path') throw err;
      await this.switch();
      await this.current.ensure(oids, filter);
    }
  }
  private async switch(): Promise<void> {
    this.current = await this.fallback();
    this.mode = 'shallow';
  }
  close(): void {
    this.current.close?.();
  }
}

/**
 * How this node reads objects of the archive whose tip is `tip` (docs/PROTOCOL.md §7): from a local remote it may
 * write directly, with git cat-file there (its own repository: no hooks, no foreign config); from any other, by
 * path through upload-pack, or from the shallow tip where the remote refuses path reads.
 */
export async function openArchiveSource(repo: BusRepo, tip: string): Promise<ArchiveObjectSource & { readonly mode: ArchiveReadMode }> {
  const direct = await repo.directRemote();
  if (direct !== null) return Object.assign(new CatFileSource(direct, repo.gitdir, (oid) => repo.hasObject(oid)), { mode: 'direct' as const });
  return new FallingBack(new ArchivePathReader(repo), () => shallowTipSource(repo, tip));
}
