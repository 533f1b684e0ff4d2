import { validSession } from './session-ledger.js';

/**
 * The JSON Claude Code writes to a command hook's standard input (the fields gitbus reads; Claude Code sends more,
 * and newer versions may add fields, so unknown keys are kept, not refused).
 */
export interface HookInput {
  session_id: string;
  hook_event_name?: string;
  cwd?: string;
  transcript_path?: string;
  /** SessionStart: startup, resume, clear, compact or fork. */
  source?: string;
  /** UserPromptSubmit. */
  prompt?: string;
  /** Stop: true when the session already goes on because a Stop hook said so; gitbus then never asks again. */
  stop_hook_active?: boolean;
  [key: string]: unknown;
}

/**
 * The type of each field gitbus reads. Checked by hand, not with zod: the hooks run at every prompt and every stop,
 * and zod (with the schemas script, cli/schemas-script.ts) is ~20 ms of a start that reads nothing else.
 */
const FIELD_TYPES: Record<string, 'string' | 'boolean'> = {
  session_id: 'string',
  hook_event_name: 'string',
  cwd: 'string',
  transcript_path: 'string',
  source: 'string',
  prompt: 'string',
  stop_hook_active: 'boolean',
};

export const HOOK_EVENTS = ['session-start', 'user-prompt-submit', 'stop', 'wait'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** Claude Code's name of each event (`hookEventName` in the output). `wait` runs on Stop, in the background. */
export const EVENT_NAMES: Record<HookEvent, string> = {
  'session-start': 'SessionStart',
  'user-prompt-submit': 'UserPromptSubmit',
  stop: 'Stop',
  wait: 'Stop',
};

/**
 * The hook's input, or null when it holds no session id (a hook must never fail the session over it). A field of an
 * unexpected type is left out rather than voiding the rest; input that does not parse as a whole (cut off at the
 * hook's read limit by a huge prompt, or broken) is read leniently (`lenientHookInput`), since the session id is
 * all the hooks need to tell a session that its tasks ended.
 */
export function parseHookInput(text: string): HookInput | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return lenientHookInput(text);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const fields: Record<string, unknown> = { ...raw };
  for (const [key, type] of Object.entries(FIELD_TYPES)) {
    if (key in fields && typeof fields[key] !== type) delete fields[key];
  }
  return typeof fields['session_id'] === 'string' ? (fields as HookInput) : null;
}

/** Claude Code writes at most this long a session id (session-ledger.ts's rule); the pattern only bounds the match. */
const SESSION_VALUE = '[A-Za-z0-9_-]{1,128}';
/** A key outside any string: its opening quote is not escaped (an even number of backslashes before it). */
const KEY = (name: string) => String.raw`(?<!\\)((?:\\\\)*)"${name}"\s*:\s*`;

function lenientField(text: string, name: string, value: string): string | null {
  return new RegExp(KEY(name) + value).exec(text)?.[2] ?? null;
}

/**
 * What can still be read from hook input that is not one JSON document: the session id, and the short fields the
 * hooks use, each taken where it stands as a key (not inside the prompt's text, where its quotes are escaped).
 * null without a valid session id. `stop_hook_active` that cannot be found counts as true: a Stop hook then only
 * tells the person, so a stop is never held twice on a guess.
 */
export function lenientHookInput(text: string): HookInput | null {
  const session = lenientField(text, 'session_id', `"(${SESSION_VALUE})"`);
  if (!validSession(session)) return null;
  const input: HookInput = { session_id: session };
  const event = lenientField(text, 'hook_event_name', '"([A-Za-z]{1,64})"');
  if (event !== null) input.hook_event_name = event;
  const source = lenientField(text, 'source', '"([a-z_-]{1,32})"');
  if (source !== null) input.source = source;
  const cwd = lenientField(text, 'cwd', String.raw`("(?:[^"\\]|\\.){1,4096}")`);
  if (cwd !== null) {
    try {
      input.cwd = JSON.parse(cwd) as string;
    } catch {
      // not a JSON string after all: the hooks do without it
    }
  }
  input.stop_hook_active = lenientField(text, 'stop_hook_active', '(true|false)') !== 'false';
  return input;
}
