/**
 * The most a commit message's listing of tasks holds: every command reads main's commit, and a 600-task batch's
 * message of one line per task made it a 20 KB commit, which node:zlib had to be loaded for, deflated when written
 * and inflated by every later read (issue 14). The handoffs themselves say the rest; `git log -- handoffs/ID.md`
 * finds the commit of any of them.
 */
export const MESSAGE_LIST_MAX = 8 * 1024;

/** `subject`, a blank line, and `lines` as long as they fit in MESSAGE_LIST_MAX bytes, then how many more there were. Pure. */
export function listingMessage(subject: string, lines: readonly string[], maxBytes = MESSAGE_LIST_MAX): string {
  const kept: string[] = [];
  let bytes = Buffer.byteLength(subject) + 2;
  for (const line of lines) {
    bytes += Buffer.byteLength(line) + 1;
    if (bytes > maxBytes) break;
    kept.push(line);
  }
  const more = lines.length - kept.length;
  return `${subject}\n\n${kept.join('\n')}${more > 0 ? `${kept.length > 0 ? '\n' : ''}and ${more} more` : ''}`;
}
