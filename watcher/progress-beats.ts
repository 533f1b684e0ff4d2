import { readProgress } from '../bus/progress.js';

/** How often the watcher looks for progress posted by its running tasks, and for their first output. */
const PROGRESS_LOOK_MS = 1_000;

export interface ProgressBeatsOptions {
  home: string;
  /** At most one early heartbeat per this long (0: none). */
  everyMs: number;
  running: () => Iterable<{ id: string; attempt: number }>;
  /** Whether a running task has printed anything yet: its log is not empty, or for claude, claude said something. */
  hasOutput: (id: string, attempt: number) => boolean;
  /** When the last heartbeat went out (ms since the epoch). */
  lastBeatAt: () => number;
  beat: () => Promise<void>;
  isDown: () => boolean;
}

/**
 * Progress posted from inside a task (`gitbus progress`, a file in the home) is looked for each second while tasks
 * run, and sent with an early heartbeat: at most one per `everyMs`, so a chatty agent costs the remote a push every
 * few seconds at most; later lines of the same window go with that beat or the next. A run's first output asks for
 * such a beat too (a claude run's first words, not the session line every run starts with), so `gitbus logs` on
 * another node shows a run that prints within that window rather than at the node's next regular beat (which,
 * holding claims on a host with a push budget, can be minutes away). A beat asked only for runs that have all ended
 * by its time is not pushed: their responses carry more than it would. `soon()` without a run asks for a beat for
 * another reason (a claude run that spent money, so other nodes see the node's spend).
 */
export function progressBeats(o: ProgressBeatsOptions): {
  soon: (run?: { id: string; attempt: number }) => void;
  forget: (id: string, attempt: number) => void;
  stop: () => void;
} {
  const seen = new Map<string, string>();
  const printed = new Set<string>();
  /** What the pending beat is for: runs by key, or `null` once something not tied to a run asked. */
  let wantedFor: Set<string> | null = new Set();
  let prompt: NodeJS.Timeout | null = null;
  const keyOf = (r: { id: string; attempt: number }) => `${r.id}.${r.attempt}`;
  const stillWanted = (): boolean => {
    if (wantedFor === null) return true;
    const running = new Set([...o.running()].map(keyOf));
    return [...wantedFor].some((k) => running.has(k));
  };
  const soon = (run?: { id: string; attempt: number }) => {
    if (o.everyMs <= 0 || o.isDown()) return;
    if (run === undefined) wantedFor = null;
    else wantedFor?.add(keyOf(run));
    if (prompt !== null) return;
    prompt = setTimeout(() => {
      prompt = null;
      const go = stillWanted();
      wantedFor = new Set();
      if (go && !o.isDown()) void o.beat().catch(() => undefined);
    }, Math.max(0, o.lastBeatAt() + o.everyMs - Date.now()));
    prompt.unref();
  };
  const look = setInterval(() => {
    for (const r of o.running()) {
      const key = keyOf(r);
      const p = readProgress(o.home, r.id, r.attempt);
      if (p && seen.get(key) !== p.at) {
        seen.set(key, p.at);
        soon(r);
      }
      if (!printed.has(key) && o.hasOutput(r.id, r.attempt)) {
        printed.add(key);
        soon(r);
      }
    }
  }, PROGRESS_LOOK_MS);
  look.unref();
  return {
    soon,
    /** A run that ended: what it posted is no longer looked at. */
    forget: (id, attempt) => {
      seen.delete(`${id}.${attempt}`);
      printed.delete(`${id}.${attempt}`);
    },
    stop: () => {
      clearInterval(look);
      if (prompt) clearTimeout(prompt);
    },
  };
}
