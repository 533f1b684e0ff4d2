import { fs } from '../node-fs.js';
import { freshenObjectFile, gitObjectId, looseBytes, writeLooseObjectIfNew, writeObjectFile } from '../git/loose-object.js';
import { objectFile } from '../git/object-path.js';
import type { GitObject } from './encode.js';

/**
 * Collects the objects one commit writes (bus/store/objects.ts buildCommit): into the clone as they are made, or with
 * `defer` held in memory until flush(), for a compare-and-swap round that may find itself lost first (bus/cas.ts).
 */
export class CommitWriter {
  readonly oids: string[] = [];
  readonly objects: GitObject[] = [];
  /** With `defer`: the objects to write into the clone at flush(), with their file's bytes when new there. */
  private readonly held: { obj: GitObject; oid: string; deflated?: Buffer }[] = [];
  private readonly seen = new Set<string>();
  constructor(
    private readonly gitdir: string,
    private readonly defer = false,
  ) {}
  async write(obj: GitObject): Promise<string> {
    let oid: string;
    let deflated: Buffer | undefined;
    if (this.defer) {
      oid = gitObjectId(obj.type, obj.content);
      // New only the first time one build writes it, as when written at once; one the clone holds is freshened.
      if (!this.seen.has(oid) && !fs.existsSync(objectFile(this.gitdir, oid))) deflated = looseBytes(obj.type, obj.content);
      this.seen.add(oid);
      this.held.push(deflated ? { obj, oid, deflated } : { obj, oid });
    } else ({ oid, deflated } = await writeLooseObjectIfNew(fs, this.gitdir, obj.type, obj.content));
    this.oids.push(oid);
    this.objects.push(deflated ? { ...obj, loose: { oid, deflated } } : obj);
    return oid;
  }
  /** Writes what was held, children first as built: new objects, and those found in the clone freshened. */
  flush(): void {
    for (const h of this.held.splice(0)) {
      const path = objectFile(this.gitdir, h.oid);
      if (h.deflated) writeObjectFile(fs, this.gitdir, h.oid, h.deflated);
      else if (fs.existsSync(path)) freshenObjectFile(fs, path);
      // Found at build time, but the clone's prune (another process) may have taken it since, as old and unnamed.
      else writeObjectFile(fs, this.gitdir, h.oid, looseBytes(h.obj.type, h.obj.content));
    }
  }
}
