import { GitbusError } from '../schemas/errors.js';

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
} as const;

const BY_CODE: Record<string, number> = {
  NOTHING_CLAIMABLE: EXIT.nothing,
  UNKNOWN_TASK: EXIT.notFound,
  TASK_STATE: EXIT.conflict,
  NOT_CLAIMABLE: EXIT.conflict,
  TASK_NOT_RUNNING: EXIT.conflict,
  NOT_IN_TASK: EXIT.usage,
  NOT_A_TMUX_TASK: EXIT.conflict,
  INVALID_TASK: EXIT.conflict,
  NODE_NAME_TAKEN: EXIT.conflict,
  NODE_LIVE: EXIT.conflict,
  UNKNOWN_NODE: EXIT.notFound,
  NODE_CANNOT_RUN: EXIT.conflict,
  BUS_EXISTS: EXIT.conflict,
  HOME_IN_USE: EXIT.conflict,
  WATCHER_RUNNING: EXIT.conflict,
  CONTENTION: EXIT.remote,
  LOCK_TIMEOUT: EXIT.remote,
  NO_BUS: EXIT.setup,
  BAD_SETTINGS: EXIT.setup,
  NOT_A_BUS: EXIT.setup,
  NOT_A_REPO: EXIT.setup,
  NOT_A_BUS_CHECKOUT: EXIT.setup,
  HOOK_GIT_FAILED: EXIT.setup,
  HOOK_EXISTS: EXIT.conflict,
  UNSUPPORTED_PROTOCOL: EXIT.setup,
  NO_RUNNERS: EXIT.setup,
  SERVICE_UNSUPPORTED_PLATFORM: EXIT.setup,
  SERVICE_MANAGER_UNAVAILABLE: EXIT.setup,
  SERVICE_COMMAND_FAILED: EXIT.setup,
  SERVICE_BAD_PATH: EXIT.setup,
  SERVICE_NO_ENTRY: EXIT.setup,
  BAD_INPUT: EXIT.usage,
  INVALID_NAME: EXIT.usage,
  INVALID_BUS_FILE: EXIT.invalid,
  INVALID_PLAN: EXIT.invalid,
  GROUP_LIVE: EXIT.conflict,
  UNKNOWN_GROUP: EXIT.notFound,
  PROJECT_GIT: EXIT.remote,
  BASE_MISSING: EXIT.notFound,
  WORKSPACE: EXIT.setup,
  SSH_CONFIG_INVALID: EXIT.setup,
  BASE_NOT_PUSHED: EXIT.conflict,
  BASE_NOT_FOUND: EXIT.notFound,
  PROJECT_REMOTE_UNREACHABLE: EXIT.remote,
  DISK_FULL: EXIT.local,
  LOCAL_IO: EXIT.local,
  CLONE_DAMAGED: EXIT.local,
  NEVER_RAN: EXIT.conflict,
  NO_SESSION: EXIT.conflict,
  STILL_RUNNING: EXIT.conflict,
  CLAUDE_SETTINGS_INVALID: EXIT.setup,
  CLAUDE_MD_MARKERS: EXIT.setup,
  CLAUDE_PLUGIN_MISSING: EXIT.setup,
  // The trust root (bus/trust/root-errors.ts).
  TRUST_PIN_INVALID: EXIT.setup,
  TRUST_PIN_REQUIRED: EXIT.setup,
  TRUST_PIN_MISMATCH: EXIT.conflict,
  TRUST_DECLINED: EXIT.conflict,
  TRUST_ROOT_REFUSED: EXIT.invalid,
  NO_TRUST_ROOT: EXIT.notFound,
  TRUST_ROOT_EXISTS: EXIT.conflict,
  TRUST_NOT_PINNED: EXIT.setup,
  NOT_TRUST_ADMIN: EXIT.conflict,
  TRUST_VERSION_TAKEN: EXIT.conflict,
  TRUST_CHANGE_INVALID: EXIT.usage,
  TRUST_NOTHING_TO_SIGN: EXIT.conflict,
  // Signatures (docs/PROTOCOL.md §11): a signature that cannot count is invalid input; a key that cannot sign is setup.
  SIGNATURE_MALFORMED: EXIT.invalid,
  SIGNATURE_UNSUPPORTED: EXIT.invalid,
  SIGNATURE_INVALID: EXIT.invalid,
  NOT_SIGNABLE: EXIT.usage,
  ALREADY_SIGNED: EXIT.conflict,
  SIGNING_KEY_MISSING: EXIT.setup,
  SIGNING_KEY_LOCKED: EXIT.setup,
  SIGNING_KEY_INVALID: EXIT.setup,
  SIGNING_FAILED: EXIT.setup,
  SIGNING_REQUIRED: EXIT.setup,
  // The web view (web/errors.ts).
  UI_PORT_IN_USE: EXIT.conflict,
  UI_LISTEN_FAILED: EXIT.setup,
  UI_ASSETS_MISSING: EXIT.setup,
};

export function exitCodeFor(err: unknown): number {
  if (!(err instanceof GitbusError)) return EXIT.error;
  const direct = BY_CODE[err.code];
  if (direct !== undefined) return direct;
  // Transport and remote failures share prefixes; see bus/transport/errors.ts and bus/git/errors.ts.
  if (/^(REMOTE|TRANSPORT|PUSH|FETCH|GIT|LOCAL|PKT|PACK|SSH)_/.test(err.code)) return EXIT.remote;
  return EXIT.error;
}
