import { closeSync, constants, lstatSync, openSync } from 'node:fs';

/**
 * `p` settled within `ms`, or a failure; `unstick` runs either way on a timeout, so that a read a FIFO holds (the
 * defect a test looks for) ends and leaves no thread of the pool waiting behind the test.
 */
export async function within<T>(ms: number, p: Promise<T>, unstick: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      unstick();
      reject(new Error(`still waiting after ${ms} ms: something opened or read what it should have refused`));
    }, ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A reader blocked in the open of a FIFO is let through (and sees its end): a writer opens it and closes. */
export function releaseFifo(path: string): void {
  try {
    if (!lstatSync(path).isFIFO()) return;
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // No reader waits (ENXIO), or it is gone: nothing to release.
  }
}
