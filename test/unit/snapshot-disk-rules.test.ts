import { describe, expect, it } from 'vitest';
import { DISK_MIN_NEW, worthLoading, worthSaving } from '../../bus/model/snapshot-disk-cache.js';

/** When the parse cache's folder files are read and written (bus/model/snapshot-disk-cache.ts). */
describe('the parse cache on disk: when a folder file pays', () => {
  it('is read at a process\'s first look for a single miss, later only for several', () => {
    expect(worthLoading(0, true)).toBe(false);
    expect(worthLoading(1, true)).toBe(true);
    expect(worthLoading(1, false)).toBe(false);
    expect(worthLoading(DISK_MIN_NEW - 1, false)).toBe(false);
    expect(worthLoading(DISK_MIN_NEW, false)).toBe(true);
  });

  it('is written for one new entry in a small folder, for a twentieth of a big one', () => {
    expect(worthSaving(0, 3)).toBe(false);
    expect(worthSaving(1, 3)).toBe(true);
    expect(worthSaving(1, 20)).toBe(true);
    expect(worthSaving(1, 21)).toBe(false);
    expect(worthSaving(2, 21)).toBe(true);
    expect(worthSaving(249, 5_000)).toBe(false);
    expect(worthSaving(250, 5_000)).toBe(true);
  });
});
