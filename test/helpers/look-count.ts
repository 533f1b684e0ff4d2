import { watch } from 'node:fs';
import { join } from 'node:path';

/**
 * A watcher's looks at the remote that found main moved, counted from outside its process: each writes the node's
 * clone's `main`, renamed into place (a file event of `<home>/clone.git/refs/heads`).
 */
export function countLooks(home: string): { looks: () => number; close: () => void } {
  let looks = 0;
  const refs = watch(join(home, 'clone.git', 'refs', 'heads'), (_event, name) => {
    if (name === 'main') looks++;
  });
  return { looks: () => looks, close: () => refs.close() };
}

/**
 * `count` pushes by `dispatch`, `paceMs` apart: spread out as other nodes' pushes come, rather than in one burst that a
 * single look would take in anyway. Returns how long they took.
 */
export async function pushesAtPace(count: number, paceMs: number, dispatch: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = Date.now();
  for (let i = 0; i < count; i++) {
    await dispatch(i);
    await new Promise((resolve) => setTimeout(resolve, paceMs));
  }
  return Date.now() - t0;
}
