import { PktLineReader, pktText } from './pkt-line.js';

/** The capabilities of a git service's advertisement (after the NUL of its first line). */
export function advertisedCapabilities(advertisement: Uint8Array): Set<string> {
  const reader = new PktLineReader(advertisement);
  const first = reader.next();
  if (first.type !== 'data') return new Set();
  const line = pktText(first.data);
  const nul = line.indexOf('\0');
  return new Set(nul < 0 ? [] : line.slice(nul + 1).trim().split(/\s+/).map((c) => c.split('=')[0] ?? c));
}
