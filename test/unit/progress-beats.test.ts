import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { progressBeats } from '../../watcher/progress-beats.js';

/** Real timers, short windows: what matters is whether a beat goes out, waited for with a bound. */
function harness(everyMs: number) {
  const running = new Map<string, { id: string; attempt: number }>();
  const printed = new Set<string>();
  let beats = 0;
  const waiters: (() => void)[] = [];
  const pb = progressBeats({
    home: join(tmpdir(), 'gitbus-progress-beats-no-such-home'),
    everyMs,
    running: () => running.values(),
    hasOutput: (id) => printed.has(id),
    lastBeatAt: () => Date.now(),
    beat: async () => {
      beats++;
      for (const w of waiters.splice(0)) w();
    },
    isDown: () => false,
  });
  const nextBeat = (ms: number) =>
    new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      waiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  return { running, printed, beats: () => beats, nextBeat, pb };
}

describe('early beats', () => {
  it("a run's first output asks for one early beat, and later output for none", async () => {
    const h = harness(200);
    h.running.set('t1', { id: 't1', attempt: 1 });
    h.printed.add('t1');
    try {
      expect(await h.nextBeat(5_000)).toBe(true);
      // Still printing, still running: the first output was announced once.
      expect(await h.nextBeat(2_500)).toBe(false);
      expect(h.beats()).toBe(1);
    } finally {
      h.pb.stop();
    }
  });

  it('a beat asked only for runs that ended before it was due is not pushed', async () => {
    const h = harness(1_500);
    h.running.set('t1', { id: 't1', attempt: 1 });
    h.pb.soon({ id: 't1', attempt: 1 });
    h.running.delete('t1');
    try {
      expect(await h.nextBeat(3_500)).toBe(false);
      expect(h.beats()).toBe(0);
    } finally {
      h.pb.stop();
    }
  });

  it('a beat asked for something not tied to a run (spend) goes out though no run is left', async () => {
    const h = harness(200);
    h.running.set('t1', { id: 't1', attempt: 1 });
    h.pb.soon({ id: 't1', attempt: 1 });
    h.pb.soon();
    h.running.delete('t1');
    try {
      expect(await h.nextBeat(5_000)).toBe(true);
    } finally {
      h.pb.stop();
    }
  });
});
