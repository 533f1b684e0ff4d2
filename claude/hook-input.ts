import { z } from '../schemas/zod.js';

/**
 * The JSON Claude Code writes to a command hook's standard input (the fields gitbus reads; Claude Code sends more,
 * and newer versions may add fields, so unknown keys are kept, not refused).
 */
export const hookInputSchema = z.looseObject({
  session_id: z.string(),
  hook_event_name: z.optional(z.string()),
  cwd: z.optional(z.string()),
  transcript_path: z.optional(z.string()),
  /** SessionStart: startup, resume, clear, compact or fork. */
  source: z.optional(z.string()),
  /** UserPromptSubmit. */
  prompt: z.optional(z.string()),
  /** Stop: true when the session already goes on because a Stop hook said so; gitbus then never asks again. */
  stop_hook_active: z.optional(z.boolean()),
});

export type HookInput = z.infer<typeof hookInputSchema>;

export const HOOK_EVENTS = ['session-start', 'user-prompt-submit', 'stop', 'wait'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** Claude Code's name of each event (`hookEventName` in the output). `wait` runs on Stop, in the background. */
export const EVENT_NAMES: Record<HookEvent, string> = {
  'session-start': 'SessionStart',
  'user-prompt-submit': 'UserPromptSubmit',
  stop: 'Stop',
  wait: 'Stop',
};

/** The hook's input, or null when it is not what Claude Code sends (a hook must never fail the session over it). */
export function parseHookInput(text: string): HookInput | null {
  try {
    const r = hookInputSchema.safeParse(JSON.parse(text));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
