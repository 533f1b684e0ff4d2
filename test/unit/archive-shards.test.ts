import { describe, expect, it } from 'vitest';
import { MAX_ARCHIVE_SHARDS_FILE, archiveShardsProblems, parseArchiveShards, renderArchiveShards } from '../../schemas/archive-shards.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('archive-shards in main (docs/PROTOCOL.md §7)', () => {
  it('renders the shards sorted and reads back what it wrote', () => {
    const text = renderArchiveShards({ archive: A, complete: true, shards: new Map([['ff', B], ['00', A]]) });
    expect(text).toBe(`gitbus archive-shards 1\narchive ${A}\ncomplete\n00 ${A}\nff ${B}\n`);
    expect(parseArchiveShards(text)).toEqual({ archive: A, complete: true, shards: new Map([['00', A], ['ff', B]]) });
    expect(parseArchiveShards(renderArchiveShards({ archive: B, complete: false, shards: new Map() }))).toEqual({ archive: B, complete: false, shards: new Map() });
  });

  it('is not read at all when any line is not the format (the archive is then read by its path)', () => {
    const good = `gitbus archive-shards 1\narchive ${A}\n00 ${B}\n`;
    expect(parseArchiveShards(good)).not.toBeNull();
    for (const bad of [
      '',
      `gitbus archive-shards 2\narchive ${A}\n`,
      `gitbus archive-shards 1\narchive ${A.slice(1)}\n`,
      `gitbus archive-shards 1\n00 ${B}\n`,
      `${good}0g ${B}\n`,
      `${good}01 ${B.toUpperCase()}\n`,
      `${good}00 ${A}\n`,
      `${good}01 ${B} x\n`,
      `${good}complete\n`,
      `${good}\n`,
    ]) {
      expect(parseArchiveShards(bad), JSON.stringify(bad)).toBeNull();
    }
  });

  it('lint says nothing of the note gitbus writes, and warns of anything else at its path', () => {
    const good = Buffer.from(renderArchiveShards({ archive: A, complete: false, shards: new Map([['0a', B]]) }));
    expect(archiveShardsProblems('archive-shards', good)).toEqual([]);
    expect(archiveShardsProblems('archive-shards', Buffer.from('my notes\n'))).toMatchObject([{ path: 'archive-shards', field: '', severity: 'warning', fix: expect.stringContaining('git rm archive-shards') }]);
    expect(archiveShardsProblems('archive-shards', Buffer.alloc(MAX_ARCHIVE_SHARDS_FILE + 1))).toMatchObject([{ severity: 'warning', reason: expect.stringContaining('bytes') }]);
  });
});
