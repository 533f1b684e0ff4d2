import { setMaxListeners } from 'node:events';
import { openBus, type BusContext } from '../bus/context.js';
import { watch, type WatchEvent } from '../watcher/watch.js';

/**
 * One of the fleet benchmark's worker processes (bench/fleet.ts forks a few): it runs the watchers of the homes it
 * is given in this process, exactly as `gitbus watch` would (the bus's own poll and heartbeat settings), and sends
 * their events to the parent over IPC. Watchers start at random moments within `staggerMs`, as machines of a
 * real fleet do, so that their polls are not in lockstep by construction.
 *
 * Messages in: {type: 'start', homes, staggerMs, graceMs}, {type: 'stop'}. Out: {type: 'event', ...} per watcher
 * event, {type: 'stopped'} once every watcher has returned.
 */

export interface WorkerStart {
  type: 'start';
  homes: string[];
  staggerMs: number;
  graceMs: number;
}

export interface WorkerEvent {
  type: 'event';
  node: string;
  at: number;
  event: string;
  id?: string;
  message?: string;
}

const stop = new AbortController();
// Every watcher of this process listens on the one stop signal (a few listeners each).
setMaxListeners(0, stop.signal);
const running: Promise<void>[] = [];
const contexts: BusContext[] = [];

function send(msg: object): void {
  // The parent may be gone (killed bench): nothing to report to then.
  if (process.connected) process.send?.(msg);
}

function forward(node: string, e: WatchEvent | { type: 'watch-failed'; message: string }): void {
  const out: WorkerEvent = { type: 'event', node, at: Date.now(), event: e.type };
  if ('id' in e && typeof e.id === 'string') out.id = e.id;
  if (e.type === 'error' || e.type === 'watch-failed' || e.type === 'remote-down') out.message = e.message;
  send(out);
}

async function runOne(home: string, delayMs: number, graceMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, delayMs);
    stop.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
  if (stop.signal.aborted) return;
  const ctx = await openBus(home, 'watcher');
  contexts.push(ctx);
  const node = ctx.config.node;
  try {
    // userHome: environment profiles would otherwise be applied to the real $HOME.
    await watch(ctx, { once: false, stop: stop.signal, graceMs, userHome: home, onEvent: (e) => forward(node, e) });
  } catch (err) {
    forward(node, { type: 'watch-failed', message: err instanceof Error ? err.message : String(err) });
  }
}

process.on('message', (msg: WorkerStart | { type: 'stop' }) => {
  if (msg.type === 'start') {
    for (const home of msg.homes) running.push(runOne(home, Math.random() * msg.staggerMs, msg.graceMs));
    return;
  }
  if (msg.type === 'stop') {
    stop.abort();
    void Promise.allSettled(running)
      .then(() => Promise.allSettled(contexts.map((c) => c.repo.close())))
      .then(() => {
        // Exit once the parent has the message: a watcher's leftover handle must not keep the process alive.
        if (process.connected) process.send?.({ type: 'stopped' }, () => process.exit(0));
        else process.exit(0);
      });
  }
});
// If the parent dies without saying stop, do not linger with 25 watchers.
process.on('disconnect', () => {
  if (!stop.signal.aborted) stop.abort();
  setTimeout(() => process.exit(0), 30_000).unref();
});
