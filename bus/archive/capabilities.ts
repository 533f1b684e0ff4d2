import { PktLineReader, pktText } from '../git/pkt-line.js';

/** The capabilities of an upload-pack advertisement (after the NUL of its first line). */
export function advertisedCapabilities(advertisement: Uint8Array): Set<string> {
  const reader = new PktLineReader(advertisement);
  const first = reader.next();
  if (first.type !== 'data') return new Set();
  const line = pktText(first.data);
  const nul = line.indexOf('\0');
  return new Set(nul < 0 ? [] : line.slice(nul + 1).trim().split(/\s+/).map((c) => c.split('=')[0] ?? c));
}

/** Whether a remote with these capabilities serves path reads of the archive (bus/archive/path-read.ts). */
export function servesPathReads(caps: ReadonlySet<string>): boolean {
  return caps.has('filter') && (caps.has('allow-any-sha1-in-want') || caps.has('allow-reachable-sha1-in-want'));
}
