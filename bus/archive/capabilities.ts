/** Whether a remote with these capabilities serves path reads of the archive (bus/archive/path-read.ts). */
export function servesPathReads(caps: ReadonlySet<string>): boolean {
  return caps.has('filter') && (caps.has('allow-any-sha1-in-want') || caps.has('allow-reachable-sha1-in-want'));
}
