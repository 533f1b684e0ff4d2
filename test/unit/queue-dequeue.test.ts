import { mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEQUEUED_KEPT_MS, dequeueDispatch, listQueue, pruneDequeued, putQueue, removeQueue, requeueIfDequeued, type QueueEntry } from '../../bus/queue.js';

/**
 * A cancel that takes a queued dispatch out of the queue while another process of the node may be sending it
 * (bus/queue.ts): whichever of the two moves first, the cancel reaches the bus when the dispatch did.
 */
let home = '';
afterEach(() => rmSync(home, { recursive: true, force: true }));

const at = '2026-12-02T12:00:00.000Z';
const dispatch = (id: string): Extract<QueueEntry, { kind: 'dispatch' }> => ({ kind: 'dispatch', id, path: `handoffs/${id}.md`, text: '---\n---\n', title: 't', queuedAt: at, chosenId: false });
const cancel = (id: string): Extract<QueueEntry, { kind: 'cancel' }> => ({ kind: 'cancel', id, by: 'me@laptop', reason: 'not needed', at, queuedAt: at });
const names = (folder: string[]) => readdirSync(join(home, 'queue', ...folder)).filter((n) => n.endsWith('.json')).sort();

describe('a queued dispatch taken out by a cancel', () => {
  it('before a delivery removes its entry: the delivery finds the cancel and queues it, once', () => {
    home = mkdtempSync(join(tmpdir(), 'gitbus-queue-'));
    putQueue(home, dispatch('a'));
    expect(dequeueDispatch(home, dispatch('a'), cancel('a'))).toBe(true);
    expect(listQueue(home)).toEqual([]);
    expect(names(['dequeued'])).toEqual(['a.cancel.json', 'a.dispatch.json']);
    // A delivery that read the queue before, and pushed the dispatch, removes its entry and looks.
    removeQueue(home, dispatch('a'));
    expect(requeueIfDequeued(home, dispatch('a'))).toBe(true);
    expect(listQueue(home)).toEqual([cancel('a')]);
    expect(names(['dequeued'])).toEqual([]);
    // A second delivery that sent it too queues nothing more; one that never sent it does not look.
    expect(requeueIfDequeued(home, dispatch('a'))).toBe(false);
    expect(listQueue(home)).toHaveLength(1);
  });

  it('only as the entry that was sent: a dispatch given the same id again later is not cancelled by it', () => {
    home = mkdtempSync(join(tmpdir(), 'gitbus-queue-'));
    putQueue(home, dispatch('e'));
    dequeueDispatch(home, dispatch('e'), cancel('e'));
    const again = { ...dispatch('e'), queuedAt: '2026-12-02T13:00:00.000Z', text: '---\ntitle: again\n---\n' };
    putQueue(home, again);
    removeQueue(home, again);
    expect(requeueIfDequeued(home, again)).toBe(false);
    expect(listQueue(home)).toEqual([]);
  });

  it('after a delivery removed its entry: the cancel is queued at once, and nothing is kept aside', () => {
    home = mkdtempSync(join(tmpdir(), 'gitbus-queue-'));
    expect(dequeueDispatch(home, dispatch('b'), cancel('b'))).toBe(false);
    expect(listQueue(home)).toEqual([cancel('b')]);
    expect(names(['dequeued'])).toEqual([]);
  });

  it('is forgotten a day after it was taken out, when no delivery that read it can still be running, however old the dispatch', () => {
    home = mkdtempSync(join(tmpdir(), 'gitbus-queue-'));
    const old = (Date.now() - DEQUEUED_KEPT_MS - 60_000) / 1000;
    for (const id of ['c', 'd']) {
      putQueue(home, dispatch(id));
      // Queued long ago (a long time offline): its entry's time is old.
      utimesSync(join(home, 'queue', `${id}.dispatch.json`), old, old);
    }
    dequeueDispatch(home, dispatch('c'), cancel('c'));
    dequeueDispatch(home, dispatch('d'), cancel('d'));
    pruneDequeued(home);
    expect(names(['dequeued'])).toEqual(['c.cancel.json', 'c.dispatch.json', 'd.cancel.json', 'd.dispatch.json']);
    // A day after the dequeue of c: c goes, both files.
    utimesSync(join(home, 'queue', 'dequeued', 'c.cancel.json'), old, old);
    pruneDequeued(home);
    expect(names(['dequeued'])).toEqual(['d.cancel.json', 'd.dispatch.json']);
  });
});
