import { existsSync } from 'node:fs';

/**
 * A long-lived process's look at whether its home is still there (its node.yaml): a home removed under it (rm -rf
 * rather than `gitbus leave`) must not go on acting as a node no home holds. `there()` answers at once (a stat) and,
 * the first time it finds the home gone, calls `gone`; a timer asks every `everyMs` meanwhile, for a process that
 * would otherwise not look for a while. The watcher stops on it (watcher/watch.ts), the web view too (web/server.ts).
 */
export interface HomeWatch {
  there(): boolean;
  close(): void;
}

export const HOME_CHECK_MS = 2_000;

export function watchHome(config: string, gone: () => void, everyMs = HOME_CHECK_MS): HomeWatch {
  let said = false;
  const there = (): boolean => {
    if (existsSync(config)) return true;
    if (!said) {
      said = true;
      gone();
    }
    return false;
  };
  const timer = setInterval(there, everyMs);
  timer.unref();
  return { there, close: () => clearInterval(timer) };
}
