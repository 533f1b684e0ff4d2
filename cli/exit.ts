// The numbers alone, so that the served client (in the loader, kept small) names them without the table by code.
/** Exit codes are part of the CLI's contract (README "Exit codes"); scripts branch on them. */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  nothing: 3,
  notFound: 4,
  conflict: 5,
  remote: 6,
  setup: 7,
  invalid: 8,
  /** `dispatch --wait`: the task ended, but not with success. */
  taskEnded: 9,
  /** This machine: a full disk, a file system that refuses a write, a damaged clone that could not be repaired. */
  local: 10,
  /** `--wait-timeout`: the time was up before the task ended (it goes on). */
  waitTimedOut: 11,
} as const;
