/** One line of `gitbus doctor`: a value, never an exception, so one broken part never hides the others. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or fail; null when there is nothing to do. */
  fix: string | null;
}

export const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail, fix: null });
export const warn = (name: string, detail: string, fix: string): Check => ({ name, status: 'warn', detail, fix });
export const fail = (name: string, detail: string, fix: string): Check => ({ name, status: 'fail', detail, fix });
export const skip = (name: string, detail: string): Check => ({ name, status: 'skip', detail, fix: null });
