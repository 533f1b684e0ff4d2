import { readProgress } from '../bus/progress.js';

/** How often the watcher looks for progress posted by its running tasks. */
const PROGRESS_LOOK_MS = 1_000;

export interface ProgressBeatsOptions {
  home: string;
  /** At most one early heartbeat per this long (0: none). */
  everyMs: number;
  running: () => Iterable<{ id: string; attempt: number }>;
  /** When the last heartbeat went out (ms since the epoch). */
  lastBeatAt: () => number;
  beat: () => Promise<void>;
  isDown: () => boolean;
}

/**
 * Progress posted from inside a task (`gitbus progress`, a file in the home) is looked for each second while tasks
 * run, and sent with an early heartbeat: at most one per `everyMs`, so a chatty agent costs the remote a push every
 * few seconds at most; later lines of the same window go with that beat or the next. `soon()` asks for such a beat
 * for another reason (a claude run that spent money, so other nodes see the node's spend).
 */
export function progressBeats(o: ProgressBeatsOptions): { soon: () => void; forget: (id: string, attempt: number) => void; stop: () => void } {
  const seen = new Map<string, string>();
  let prompt: NodeJS.Timeout | null = null;
  const soon = () => {
    if (o.everyMs <= 0 || prompt !== null || o.isDown()) return;
    prompt = setTimeout(() => {
      prompt = null;
      if (!o.isDown()) void o.beat().catch(() => undefined);
    }, Math.max(0, o.lastBeatAt() + o.everyMs - Date.now()));
    prompt.unref();
  };
  const look = setInterval(() => {
    for (const r of o.running()) {
      const p = readProgress(o.home, r.id, r.attempt);
      if (p && seen.get(`${r.id}.${r.attempt}`) !== p.at) {
        seen.set(`${r.id}.${r.attempt}`, p.at);
        soon();
      }
    }
  }, PROGRESS_LOOK_MS);
  look.unref();
  return {
    soon,
    /** A run that ended: what it posted is no longer looked at. */
    forget: (id, attempt) => seen.delete(`${id}.${attempt}`),
    stop: () => {
      clearInterval(look);
      if (prompt) clearTimeout(prompt);
    },
  };
}
