import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { childProcess } from '../child-process.js';
import { fs } from '../node-fs.js';
import { writeLooseObject, type GitObjectType } from '../git/loose-object.js';
import { assertOid } from '../git/oid.js';
import { decodeTree } from '../store/encode.js';
import { MAX_OBJECT_BYTES, readLoose } from '../store/loose-read.js';
import type { ArchiveFilter, ArchiveObjectSource, PathReadStats } from './path-read.js';

/**
 * Objects read with one `git cat-file --batch` in a repository on this machine (a local remote gitbus may write
 * directly, or the clone's own copy of the archive's tip: bus/archive/shallow-tip.ts) and written into the clone as
 * loose objects, only those asked for. git reads a pack of 400,000 objects in milliseconds where isomorphic-git
 * needs seconds to load its index, so a big pack never enters the clone.
 */
export class CatFileSource implements ArchiveObjectSource {
  readonly stats: PathReadStats = { requests: 0, objects: 0 };
  private child: ChildProcessWithoutNullStreams | null = null;
  private buffer: Buffer = Buffer.alloc(0);
  /** Output not yet joined to `buffer`: joining each chunk as it came copied a large object's bytes over and over. */
  private chunks: Buffer[] = [];
  private queued = 0;
  private waiting: (() => void) | null = null;
  private failed: Error | null = null;

  constructor(
    private readonly source: string,
    private readonly clone: string,
    private readonly has: (oid: string) => Promise<boolean>,
    private readonly gitPath = 'git',
  ) {}

  async ensure(oids: readonly string[], filter?: ArchiveFilter): Promise<void> {
    for (const oid of new Set(oids)) await this.copy(oid, filter === undefined ? 'all' : filter === 'tree:1' ? 1 : 0);
  }

  /** Copies `oid` and, `below` levels of trees down (or all of them), what it reaches that the clone lacks. */
  private async copy(oid: string, below: number | 'all'): Promise<void> {
    const present = await this.has(oid);
    if (present && below === 0) return;
    let obj: { type: GitObjectType; content: Buffer };
    if (present) {
      // Still walk below it: a tree fetched earlier with tree:0 is here without its children. Read here, so that a
      // lookup of what the clone holds already starts no process.
      // Only a tree or commit is walked: a blob over the object cap stands in as a placeholder of its type, unread
      // (read whole it stopped every lookup of its task with OBJECT_TOO_LARGE).
      const local = await readLoose(this.clone, oid, MAX_OBJECT_BYTES);
      obj = local ? { type: local.type as GitObjectType, content: local.content } : await this.read(oid);
    } else {
      obj = await this.read(oid);
      await writeLooseObject(fs, this.clone, obj.type, obj.content);
      this.stats.objects++;
    }
    if (below === 0) return;
    const next = below === 'all' ? 'all' : below - 1;
    if (obj.type === 'commit') {
      const tree = /^tree ([0-9a-f]{40})/.exec(obj.content.toString('latin1', 0, 46))?.[1];
      if (tree) await this.copy(tree, next === 'all' ? 'all' : 0);
    } else if (obj.type === 'tree' && below === 'all') {
      for (const e of decodeTree(obj.content)) if (e.type !== 'commit') await this.copy(e.oid, 'all');
    }
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = childProcess().spawn(this.gitPath, ['--git-dir', this.source, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GIT_DIR: undefined, GIT_OBJECT_DIRECTORY: undefined, GIT_ALTERNATE_OBJECT_DIRECTORIES: undefined } });
    child.stdout.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.queued += d.length;
      this.waiting?.();
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => {
      this.failed = err;
      this.waiting?.();
    });
    child.on('exit', (code) => {
      this.failed ??= new Error(`git cat-file in ${this.source} exited ${code}: ${stderr.trim()}`);
      this.waiting?.();
    });
    this.child = child;
    this.stats.requests++;
    return child;
  }

  private async read(oid: string): Promise<{ type: GitObjectType; content: Buffer }> {
    assertOid(oid, 'archive object id');
    const child = this.start();
    child.stdin.write(`${oid}\n`);
    for (;;) {
      let nl = this.buffer.indexOf(0x0a);
      if (nl < 0 && this.chunks.length > 0) {
        this.gather();
        nl = this.buffer.indexOf(0x0a);
      }
      if (nl >= 0) {
        const header = this.buffer.toString('latin1', 0, nl);
        if (header.endsWith(' missing')) {
          this.buffer = this.buffer.subarray(nl + 1);
          throw new Error(`${this.source} does not hold ${oid}`);
        }
        const m = /^([0-9a-f]{40}) (blob|tree|commit|tag) (\d+)$/.exec(header);
        if (!m) throw new Error(`git cat-file said ${JSON.stringify(header)}`);
        const size = Number(m[3]);
        const need = nl + 1 + size + 1;
        if (this.buffer.length < need && this.buffer.length + this.queued >= need) this.gather();
        if (this.buffer.length >= need) {
          const content = Buffer.from(this.buffer.subarray(nl + 1, nl + 1 + size));
          this.buffer = this.buffer.subarray(nl + 1 + size + 1);
          return { type: m[2] as GitObjectType, content };
        }
      }
      if (this.failed) throw this.failed;
      await new Promise<void>((r) => (this.waiting = r));
      this.waiting = null;
    }
  }

  private gather(): void {
    this.buffer = Buffer.concat([this.buffer, ...this.chunks]);
    this.chunks = [];
    this.queued = 0;
  }

  close(): void {
    this.child?.stdin.end();
    this.child = null;
  }
}
