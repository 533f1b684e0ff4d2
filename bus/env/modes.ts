/**
 * The modes gitbus gives the files it writes in the home: the permission bits only (rwx for owner, group, others).
 * A setuid, setgid or sticky bit is never carried onto a file: one from a hand-edited backup, or kept by a file
 * whose content apply replaces with the bus's, would make what anyone with push access wrote run as this user.
 */

/** A mode narrowed to its permission bits, as `--json` shows it: what it was (octal, or the value as written), what was set. */
export interface NarrowedMode {
  target: string;
  mode: string;
  applied: string;
}

export const PERMISSION_BITS = 0o777;

/** What a mode not a file mode falls back to: read and write for the owner alone, which widens nothing. */
const ODD_MODE_FALLBACK = 0o600;

export function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/**
 * `raw` (a mode as a backup or this node's file has it) as the permission bits to write, and what it was when that
 * is not the same: a mode with bits beyond the permission bits, or a value that is no mode at all (a string, a
 * fraction, a negative number), which gets the owner's read and write only.
 */
export function permissionMode(raw: unknown): { mode: number; was?: string } {
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 0) return { mode: ODD_MODE_FALLBACK, was: JSON.stringify(raw) ?? String(raw) };
  const mode = raw & PERMISSION_BITS;
  return mode === raw ? { mode } : { mode, was: octal(raw) };
}
