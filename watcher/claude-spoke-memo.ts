import { claudeHasSpoken } from './runners/claude-format.js';

/**
 * Whether each claude run (by `id.attempt`) has said something yet, for its first-output early beat
 * (watcher/progress-beats.ts looks each second until it has). A run that only thinks keeps its log unchanged for
 * minutes, so the start of the log (its large session line included) is read and parsed again only when the log's
 * size changed since the last look; a log longer than `headBytes` counts as spoken without a read. `forget` when
 * the run ends. No I/O of its own: the caller stats the log and reads its start.
 */
export interface ClaudeSpokeMemo {
  /** `size`: the log's size now; `readHead(n)`: its first `n` bytes (n ≤ size ≤ headBytes). */
  spoke: (key: string, size: number, readHead: (bytes: number) => string) => boolean;
  forget: (key: string) => void;
  /** How many runs are remembered (for tests: ended runs leave none behind). */
  readonly size: number;
}

export function claudeSpokeMemo(headBytes: number): ClaudeSpokeMemo {
  const last = new Map<string, { size: number; spoke: boolean }>();
  return {
    spoke: (key, size, readHead) => {
      if (size > headBytes) return true;
      if (size === 0) return false;
      const seen = last.get(key);
      if (seen?.size === size) return seen.spoke;
      const spoke = claudeHasSpoken(readHead(size));
      last.set(key, { size, spoke });
      return spoke;
    },
    forget: (key) => {
      last.delete(key);
    },
    get size() {
      return last.size;
    },
  };
}
