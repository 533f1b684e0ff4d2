import { parse } from 'yaml';
import { showInProcess } from './in-process.js';
import { until } from './wait.js';
import type { WatcherProcess } from './watcher-process.js';

const FINAL = ['succeeded', 'failed', 'timed-out', 'cancelled'];

type Shown = { state: string; files: { path: string; text: string }[] };

/**
 * Task `id`'s state and its response's front matter once it has ended, as `show` on `home` sees it (polled,
 * bounded); `watcher`'s events and stderr say what it did when the wait runs out.
 */
export async function taskEnd<R>(home: string, id: string, watcher: WatcherProcess, timeoutMs = 45_000): Promise<{ state: string; response: R }> {
  let shown: Shown = { state: '', files: [] };
  await until(`${id} to end`, async () => {
    shown = await showInProcess<Shown>(home, id);
    return FINAL.includes(shown.state);
  }, timeoutMs, () => `${JSON.stringify(shown)}\nwatcher: ${watcher.events().map((e) => JSON.stringify(e)).join('\n')}\n${watcher.stderr()}`);
  const text = shown.files.find((f) => f.path === `responses/${id}.md`)?.text ?? '';
  return { state: shown.state, response: parse(/^---\n([\s\S]*?)\n---\n/.exec(text)?.[1] ?? '') as R };
}
