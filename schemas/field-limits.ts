// The fields' limits, the runners' names and how lengths are counted: pure, without zod (the fields' schemas are in
// fields.ts), so that a command that reads no file never loads zod (cli/schemas-script.ts).

/** The protocol version this code reads and writes (PROTOCOL.md §6). */
export const PROTOCOL_VERSION = 1;

export const MAX_FILE_BYTES = 256 * 1024;
export const MAX_TITLE_CHARS = 200;
export const MAX_COMMAND_BYTES = 16 * 1024;
/** `from`, `by` and other short names of people or tools. */
export const MAX_NAME_CHARS = 100;

export const RUNNERS = ['shell', 'tmux', 'claude', 'icecc', 'merge', 'manual'] as const;
export type RunnerName = (typeof RUNNERS)[number];
/** Runners that run `command` and so cannot do without one. */
export const COMMAND_RUNNERS: readonly RunnerName[] = ['shell', 'tmux', 'icecc'];

/** A handoff's runner: `shell` when there is a command to run, else `manual` (PROTOCOL.md §3). */
export function effectiveRunner(handoff: { runner?: RunnerName | undefined; command?: string | undefined }): RunnerName {
  return handoff.runner ?? (handoff.command !== undefined ? 'shell' : 'manual');
}

export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** Length in Unicode code points, which is what JSON Schema's maxLength counts, so both validators agree. */
export function charLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * At most this many entries in a card's repo lists, `policy.repos` and `projectsOnly`. A list that would be longer
 * is left out whole, never cut: a dispatcher refuses a repo its card does not list, so a cut list would refuse what
 * the node takes, and without the field the node decides (docs/PROTOCOL.md §6). A writer publishes one fewer
 * (bus/model/node-policy.ts CARD_LIST_PUBLISHED): a list of exactly this many is one an earlier build cut, and a
 * reader takes it as left out.
 */
export const CARD_LIST_MAX = 300;
