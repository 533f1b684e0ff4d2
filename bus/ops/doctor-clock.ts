import { fs } from '../node-fs.js';
import { join } from 'node:path';
import { firstLine } from '../../schemas/errors.js';
import { HttpTransport } from '../transport/https.js';
import { LocalTransport } from '../transport/local.js';
import type { Transport } from '../transport/transport.js';
import { ok, skip, warn, type Check } from './doctor-check.js';

/**
 * This machine's clock against the remote's: for a local remote the mtime of a file just written there (the file
 * server's clock on a network mount). Leases never depend on it (liveness is judged by each observer's own clock);
 * timestamps written into files do.
 */
export function checkClock(transport: Transport, node: string, maxSkewMs: number): Check {
  const name = 'clock';
  if (transport instanceof HttpTransport) return checkHttpClock(transport, maxSkewMs);
  if (!(transport instanceof LocalTransport)) return skip(name, `not measurable over ${transport.display}'s transport`);
  const probe = join(transport.path, 'objects', `.gitbus-doctor-clock-${node}-${process.pid}.tmp`);
  try {
    const before = Date.now();
    fs.writeFileSync(probe, '');
    const after = Date.now();
    const mtime = fs.statSync(probe).mtimeMs;
    fs.rmSync(probe, { force: true });
    // Within [before, after] (plus the file system's timestamp granularity) is no skew at all.
    const skew = skewOf(mtime, before, after);
    const text = `the remote's clock is ${describeSkew(skew, 'in step with this one')}`;
    return Math.abs(skew) > maxSkewMs ? warn(name, text, CLOCK_FIX) : ok(name, text);
  } catch (err) {
    fs.rmSync(probe, { force: true });
    return skip(name, `could not write a file in the remote to compare clocks: ${firstLine(err)}`);
  }
}

/** An HTTP server's clock, from the `Date` header of its last answer (1 s granularity, like `date +%s`). */
function checkHttpClock(transport: HttpTransport, maxSkewMs: number): Check {
  const c = transport.serverClock();
  if (!c) return skip('clock', `${transport.display} sends no Date header, so its clock cannot be compared`);
  const text = `the server's clock is ${describeSkew(skewOf(c.serverMs, c.sentMs, c.receivedMs), 'in step with this one (±1 s, from its Date header)')}`;
  return Math.abs(skewOf(c.serverMs, c.sentMs, c.receivedMs)) > maxSkewMs ? warn('clock', text, CLOCK_FIX) : ok('clock', text);
}

/** How far a remote time with 1 s granularity lies outside [before - 1 s, after + 1 s]; 0 inside. */
export function skewOf(remote: number, before: number, after: number): number {
  return remote < before - 1_000 ? remote - before : remote > after + 1_000 ? remote - after : 0;
}

export function describeSkew(skew: number, inStep: string): string {
  return skew === 0 ? inStep : `${Math.abs(Math.round(skew / 1000))} s ${skew > 0 ? 'ahead of' : 'behind'} this machine's`;
}

export const CLOCK_FIX = 'run NTP (chrony, systemd-timesyncd) on this machine and the remote host: leases do not depend on clocks, but timestamps in bus files do';

