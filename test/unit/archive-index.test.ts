import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import {
  archiveIndexMirror,
  archiveIndexPathFor,
  archiveIndexSignaturePathFor,
  archiveShardOf,
  indexEntriesFor,
  parseArchiveIndexName,
} from '../../schemas/archive-index.js';
import { archiveMonthAt, withArchiveIndex } from '../../bus/ops/archive.js';

/** The archive branch's id index (schemas/archive-index.ts, docs/PROTOCOL.md §7): pure path parts. */

const ID = '20261121-042933-k3f9qx';
const HH = createHash('sha1').update(ID).digest('hex').slice(0, 2);

describe('archive id index paths', () => {
  it('shards an id by the first two hex digits of its SHA-1', () => {
    expect(archiveShardOf(ID)).toBe(HH);
    expect(archiveShardOf(ID)).toMatch(/^[0-9a-f]{2}$/);
    const shards = new Set(Array.from({ length: 2000 }, (_, i) => archiveShardOf(`task-${i}`)));
    expect(shards.size).toBe(256);
  });

  it('puts the task folder at ids/<hh>/<id>.<yyyy-mm> and its signatures beside it with .sig', () => {
    expect(archiveIndexPathFor('2026-11', ID)).toBe(`ids/${HH}/${ID}.2026-11`);
    expect(archiveIndexSignaturePathFor('2026-11', ID)).toBe(`ids/${HH}/${ID}.2026-11.sig`);
  });

  it('reads shard names back, and nothing else', () => {
    expect(parseArchiveIndexName(`${ID}.2026-11`)).toEqual({ id: ID, month: '2026-11', signatures: false });
    expect(parseArchiveIndexName(`${ID}.2026-11.sig`)).toEqual({ id: ID, month: '2026-11', signatures: true });
    for (const bad of ['complete', `${ID}`, `${ID}.2026-13`, `-x.2026-11`, `.2026-11`, `${ID}.2026-11.txt`, `../${ID}.2026-11`]) {
      expect(parseArchiveIndexName(bad)).toBeNull();
    }
  });

  it('finds an id\'s entries in a shard listing, newest month first, ignoring other ids and signature-only months', () => {
    const names = [`${ID}.2026-10`, `${ID}.2026-11`, `${ID}.2026-11.sig`, `other.2026-12`, `${ID}.2026-12.sig`, 'junk'];
    expect(indexEntriesFor(ID, names)).toEqual([
      { month: '2026-11', task: `${ID}.2026-11`, signatures: `${ID}.2026-11.sig` },
      { month: '2026-10', task: `${ID}.2026-10`, signatures: null },
    ]);
    expect(indexEntriesFor('absent', names)).toEqual([]);
  });

  it('mirrors archived files and their signatures into the index, and no other path', () => {
    expect(archiveIndexMirror(`2026-11/${ID}/response.md`)).toBe(`ids/${HH}/${ID}.2026-11/response.md`);
    expect(archiveIndexMirror(`signatures/2026-11/${ID}/response.md.sig`)).toBe(`ids/${HH}/${ID}.2026-11.sig/response.md.sig`);
    for (const other of [`handoffs/${ID}.md`, 'ids/complete', `2026-11/${ID}`, `2026-11/${ID}/a/b`, `signatures/handoffs/${ID}.md.sig`, `2026-1/${ID}/x.md`]) {
      expect(archiveIndexMirror(other)).toBeNull();
    }
  });

  it('adds the index entry of every archived file right after it, with the same content', () => {
    const add = [
      { path: `2026-11/${ID}/handoff.md`, content: { oid: 'h'.repeat(40) } },
      { path: `signatures/2026-11/${ID}/handoff.md.sig`, content: { oid: 's'.repeat(40) } },
    ];
    expect(withArchiveIndex(add)).toEqual([
      add[0],
      { path: `ids/${HH}/${ID}.2026-11/handoff.md`, content: { oid: 'h'.repeat(40) } },
      add[1],
      { path: `ids/${HH}/${ID}.2026-11.sig/handoff.md.sig`, content: { oid: 's'.repeat(40) } },
    ]);
  });
});

describe('the archive month of an end time', () => {
  it('is the UTC year and month, or none outside years 0000-9999 (the task is skipped, not the batch failed)', () => {
    expect(archiveMonthAt(Date.parse('2026-11-30T23:30:00-01:00'))).toBe('2026-12');
    expect(archiveMonthAt(Date.parse('0000-01-01T00:00:00Z'))).toBe('0000-01');
    expect(archiveMonthAt(Date.parse('0000-01-01T00:30:00+01:00'))).toBeNull();
    expect(archiveMonthAt(Date.parse('+010000-01-01T00:00:00Z'))).toBeNull();
    expect(archiveMonthAt(Number.NaN)).toBeNull();
  });
});
