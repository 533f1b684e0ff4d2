import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitCli, tempDir } from '../helpers/cli.js';
import { UploadArchiveReader } from '../../bus/archive/upload-archive.js';
import { LocalTransport } from '../../bus/transport/local.js';
import { archiveShardOf } from '../../schemas/archive-index.js';

/**
 * Finding archived tasks with one `git upload-archive` exchange per shard (bus/archive/upload-archive.ts): the
 * folders rebuilt in the clone are git's own objects (same ids), nothing else of the archive is written, a second
 * lookup at the same tip asks nothing, ids the index lacks are left to path reads, and a host that does not run
 * the service is remembered.
 */
let dir: { path: string; cleanup: () => Promise<void> };
let source: string;
let tip: string;
const M = '2026-11';
const A = 'task-a';
const B = 'task-b';
const LINK = 'task-link';
const rev = (r: string) => gitCli(['--git-dir', source, 'rev-parse', r]).trim();
const objects = (gitdir: string) => new Set(gitCli(['--git-dir', gitdir, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname)']).split('\n').filter(Boolean));
const index = (id: string) => `ids/${archiveShardOf(id)}/${id}.${M}`;

function reader(clone: string, transport = new LocalTransport(source)): UploadArchiveReader {
  const hasObject = async (oid: string) => existsSync(join(clone, 'objects', oid.slice(0, 2), oid.slice(2)));
  return new UploadArchiveReader({ transport, gitdir: clone, hasObject } as unknown as ConstructorParameters<typeof UploadArchiveReader>[0]);
}

function freshClone(name: string): string {
  const clone = join(dir.path, name);
  gitCli(['init', '-q', '--bare', clone]);
  return clone;
}

beforeAll(async () => {
  dir = await tempDir('gitbus-upload-archive-');
  const work = join(dir.path, 'work');
  const put = (path: string, text: string) => {
    mkdirSync(join(work, path, '..'), { recursive: true });
    writeFileSync(join(work, path), text);
  };
  for (const id of [A, B, LINK]) {
    put(`${M}/${id}/handoff.md`, `handoff ${id}\n`);
    put(`${M}/${id}/response.md`, `response ${id}\n`);
  }
  put(`${M}/${A}/run.sh`, '#!/bin/sh\n');
  chmodSync(join(work, M, A, 'run.sh'), 0o755);
  put(`signatures/${M}/${A}/response.md.sig`, 'sig a\n');
  symlinkSync('handoff.md', join(work, M, LINK, 'link.md'));
  gitCli(['init', '-q', work]);
  gitCli(['add', '-A'], work);
  gitCli(['-c', 'user.name=t', '-c', 'user.email=t@x', 'commit', '-qm', 'months'], work);
  // The index: the same trees, as bus/ops/archive.ts writes it.
  for (const id of [A, B, LINK]) gitCli(['read-tree', `--prefix=${index(id)}/`, `HEAD:${M}/${id}`], work);
  gitCli(['read-tree', `--prefix=${index(A)}.sig/`, `HEAD:signatures/${M}/${A}`], work);
  gitCli(['-c', 'user.name=t', '-c', 'user.email=t@x', 'commit', '-qm', 'index'], work);
  source = join(dir.path, 'source.git');
  gitCli(['clone', '-q', '--bare', work, source]);
  gitCli(['--git-dir', source, 'branch', '-m', gitCli(['--git-dir', source, 'symbolic-ref', '--short', 'HEAD']).trim(), 'archive']);
  gitCli(['--git-dir', source, 'repack', '-adq']);
  tip = rev('archive');
});

afterAll(async () => {
  await dir?.cleanup();
});

describe('archive reads through git upload-archive', () => {
  it('finds a task and its signatures in one exchange, as the same git objects, and nothing else of the archive', async () => {
    const clone = freshClone('c1');
    const r = reader(clone);
    const found = await r.find(tip, [A]);
    expect(found?.get(A)).toEqual({ month: M, task: rev(`archive:${index(A)}`), signatures: rev(`archive:${index(A)}.sig`) });
    expect(r.stats.requests).toBe(1);
    const expected = new Set([rev(`archive:${index(A)}`), rev(`archive:${index(A)}.sig`), ...['handoff.md', 'response.md', 'run.sh'].map((f) => rev(`archive:${index(A)}/${f}`)), rev(`archive:${index(A)}.sig/response.md.sig`)]);
    expect(objects(clone)).toEqual(expected);
    expect(r.stats.objects).toBe(expected.size);
    // Asked again at the same tip: remembered, no exchange.
    const again = reader(clone);
    expect((await again.find(tip, [A]))?.get(A)?.task).toBe(rev(`archive:${index(A)}`));
    expect(again.stats.requests).toBe(0);
  });

  it('rebuilds a folder with a symbolic link as git has it', async () => {
    const clone = freshClone('c2');
    const found = await reader(clone).find(tip, [LINK]);
    expect(found?.get(LINK)).toEqual({ month: M, task: rev(`archive:${index(LINK)}`), signatures: null });
  });

  it('leaves ids the index lacks to path reads, and still finds the others of the batch', async () => {
    const clone = freshClone('c3');
    const r = reader(clone);
    // An id in the same shard as B (so in the same request), and one in a shard the index does not have.
    let sameShard = '';
    for (let i = 0; !sameShard; i++) if (archiveShardOf(`nowhere-${i}`) === archiveShardOf(B)) sameShard = `nowhere-${i}`;
    let noShard = '';
    for (let i = 0; !noShard; i++) if (![A, B, LINK].some((id) => archiveShardOf(id) === archiveShardOf(`gone-${i}`))) noShard = `gone-${i}`;
    const found = await r.find(tip, [B, sameShard, noShard]);
    expect([...(found?.keys() ?? [])]).toEqual([B]);
    expect(found?.get(B)?.task).toBe(rev(`archive:${index(B)}`));
    // B's shard: asked, one miss named, asked again without it; the other shard: asked once.
    expect(r.stats.requests).toBe(3);
    // Remembered both ways at this tip: a dependency on a task that is nowhere costs no exchange per wake.
    const again = reader(clone);
    expect([...((await again.find(tip, [B, sameShard, noShard]))?.keys() ?? [])]).toEqual([B]);
    expect(again.stats.requests).toBe(0);
    // At another tip, asked again.
    const moved = reader(clone);
    await moved.find('0'.repeat(40), [noShard]);
    expect(moved.stats.requests).toBe(1);
  });

  it('reads git\'s answers the same when the user\'s locale translates git\'s messages (German here)', async () => {
    const saved = { LANGUAGE: process.env['LANGUAGE'], LANG: process.env['LANG'] };
    process.env['LANGUAGE'] = 'de';
    process.env['LANG'] = 'C.UTF-8';
    try {
      const r = reader(freshClone('c3de'));
      let sameShard = '';
      for (let i = 0; !sameShard; i++) if (archiveShardOf(`nirgends-${i}`) === archiveShardOf(B)) sameShard = `nirgends-${i}`;
      const found = await r.find(tip, [B, sameShard]);
      expect([...(found?.keys() ?? [])]).toEqual([B]);
      // The miss was recognised (asked again without it), not taken for a failed exchange.
      expect(r.stats.requests).toBe(2);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('remembers a host that does not run git-upload-archive, and is not used then', async () => {
    // A git that refuses the service as GitHub or a forced command does: no ACK, an exit code, a message.
    const fake = join(dir.path, 'git-no-archive');
    writeFileSync(fake, `#!/bin/sh\nif [ "$1" = upload-archive ]; then echo "fatal: Invalid command: git-upload-archive" >&2; exit 128; fi\nexec git "$@"\n`);
    chmodSync(fake, 0o755);
    const clone = freshClone('c4');
    const r = reader(clone, new LocalTransport(source, { gitPath: fake }));
    expect(await r.find(tip, [A])).toBeNull();
    expect(r.stats.requests).toBe(1);
    expect(existsSync(join(clone, 'gitbus-archive-upload-archive'))).toBe(true);
    const next = reader(clone);
    expect(next.usable()).toBe(false);
    expect(await next.find(tip, [A])).toBeNull();
    expect(next.stats.requests).toBe(0);
    expect(objects(clone).size).toBe(0);
  });
});
