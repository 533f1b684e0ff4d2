import { redactUrlCredentials } from '../../schemas/url-redact.js';

/** One line of `gitbus doctor`: a value, never an exception, so one broken part never hides the others. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or fail; null when there is nothing to do. */
  fix: string | null;
}

// A check may quote a URL of node.yaml (a project's, with a token in it): its password is shown as *** as errors show it.
const r = redactUrlCredentials;
export const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail: r(detail), fix: null });
export const warn = (name: string, detail: string, fix: string): Check => ({ name, status: 'warn', detail: r(detail), fix: r(fix) });
export const fail = (name: string, detail: string, fix: string): Check => ({ name, status: 'fail', detail: r(detail), fix: r(fix) });
export const skip = (name: string, detail: string): Check => ({ name, status: 'skip', detail: r(detail), fix: null });
