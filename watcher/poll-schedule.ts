import { createHash } from 'node:crypto';

/**
 * A cron expression (with seconds) for checking the remote every `ms`: cron fires on wall-clock boundaries, so
 * the interval is rounded to one that divides a minute (or an hour). Each node looks at its own phase within the
 * interval (`node`: a stable draw from its name): on the boundaries themselves every node of a fleet would ask the
 * host in the same second (100 nodes, 100 requests at :00 and :30), which a host like GitHub, asking for at most
 * 15 reads a second, counts as a burst. Pure.
 */
export function pollCron(ms: number, node = ''): string {
  const phase = phaseOf(node);
  const s = Math.max(1, Math.round(ms / 1000));
  const from = (start: number, every: number) => (start === 0 ? `*/${every}` : `${start}/${every}`);
  if (s < 60) {
    const every = largestDivisorAtMost(60, s);
    return `${from(phase % every, every)} * * * * *`;
  }
  const m = Math.round(s / 60);
  if (m < 60) {
    const every = largestDivisorAtMost(60, m);
    return `${phase % 60} ${from(Math.floor(phase / 60) % every, every)} * * * *`;
  }
  return `${phase % 60} ${Math.floor(phase / 60) % 60} * * * *`;
}

/** A number in [0, 3600) that depends on the node's name only. */
function phaseOf(node: string): number {
  return node === '' ? 0 : createHash('sha1').update(node).digest().readUInt32BE(0) % 3600;
}

function largestDivisorAtMost(n: number, max: number): number {
  for (let d = Math.min(n, max); d > 1; d--) if (n % d === 0) return d;
  return 1;
}
