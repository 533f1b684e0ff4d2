/**
 * Waits `ms`, or less when `signal` aborts first (also when it already has); never rejects. The listener goes with
 * the wait, so that waits over a long-lived signal (a run's, a wait's) do not pile listeners on it.
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
