import { describe, expect, it } from 'vitest';
import { decodeBeatCache, encodeBeatCache, MAX_BEAT_CACHE_BYTES, type CachedBeat } from '../../bus/ops/beat-cache.js';

const oid = (c: string) => c.repeat(40);
const beat: CachedBeat = { beat: { time: 1_764_900_000_000, stopped: false, everyMs: 30_000, progress: { 'x.1': { text: 'half way', at: '2026-12-05T00:00:00.000Z' } }, logs: {}, spend: null, delivering: {} } };

describe('the heartbeat cache file', () => {
  it('reads back what was written, for the build that wrote it only', () => {
    const beats = new Map<string, CachedBeat>([[oid('a'), beat], [oid('b'), { notACommit: 'tag' }]]);
    const bytes = encodeBeatCache(beats, 'build-1');
    expect(bytes).not.toBeNull();
    expect(decodeBeatCache(bytes as Buffer, 'build-1')).toEqual(beats);
    expect(decodeBeatCache(bytes as Buffer, 'build-2').size).toBe(0);
  });

  it('is empty when cut short, changed, not JSON or keyed by what is no object id', () => {
    const bytes = encodeBeatCache(new Map([[oid('a'), beat]]), 'b') as Buffer;
    expect(decodeBeatCache(bytes.subarray(0, bytes.length - 1), 'b').size).toBe(0);
    const changed = Buffer.from(bytes);
    changed[changed.length - 3] = (changed[changed.length - 3] ?? 0) ^ 1;
    expect(decodeBeatCache(changed, 'b').size).toBe(0);
    expect(decodeBeatCache(Buffer.from('not a cache file'), 'b').size).toBe(0);
    const badKey = encodeBeatCache(new Map([['../../etc', beat]]), 'b') as Buffer;
    expect(decodeBeatCache(badKey, 'b').size).toBe(0);
  });

  it('is not written when it would be larger than its cap (heartbeats are untrusted and may be large)', () => {
    const big: CachedBeat = { beat: { ...(beat as { beat: Extract<CachedBeat, { beat: unknown }>['beat'] }).beat, progress: { 'x.1': { text: 'y'.repeat(MAX_BEAT_CACHE_BYTES), at: '2026-12-05T00:00:00.000Z' } } } };
    expect(encodeBeatCache(new Map([[oid('a'), big]]), 'b')).toBeNull();
  });
});
