import { redactDeep, redactUrlCredentials } from './url-redact.js';

/**
 * Every failure gitbus reports is a GitbusError subclass with a stable `code` (also its `name`), a `data`
 * object for scripts, and a message that says what to do about it. Only cli/ turns these into exit codes.
 */
export abstract class GitbusError extends Error {
  abstract readonly code: string;
  readonly data: Record<string, unknown>;
  /** How to fix it, in one sentence; also appended to `message`. */
  readonly fix: string;

  constructor(message: string, fix: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    // An error may quote a remote URL as typed or configured (a refused --repo, a node.yaml project URL with a
    // token): wherever it is shown or published, the password is not (schemas/url-redact.ts).
    const shown = redactUrlCredentials(message);
    const fixShown = redactUrlCredentials(fix);
    super(fixShown ? `${shown}\n  fix: ${fixShown}` : shown, options);
    this.fix = fixShown;
    this.data = redactDeep(data) as Record<string, unknown>;
    // Subclasses set `code` as a class field, which exists only after this constructor returns; a getter lets
    // `name` mirror it so stack traces and `err.name` show the stable code.
    Object.defineProperty(this, 'name', { get: () => this.code, configurable: true, enumerable: false });
  }
}

/** The first line of an error's message (a GitbusError's message goes on with its fix), for one-line reports. */
export function firstLine(err: unknown): string {
  const message = (err as Error | undefined)?.message;
  return typeof message === 'string' ? (message.split('\n')[0] ?? '') : String(err);
}

/** A problem found in one file of the coordination repo. Never thrown for control flow in the daemon: collected. */
export interface FileProblem {
  /** Repo-relative path, e.g. `handoffs/20261121-042933-k3f9qx.md`. */
  path: string;
  /** Dotted field path inside the frontmatter (`labels.0`), or '' for the file as a whole. */
  field: string;
  /** What is wrong. */
  reason: string;
  /** How to fix it. */
  fix: string;
  severity: 'error' | 'warning';
}

export class InvalidBusFileError extends GitbusError {
  readonly code = 'INVALID_BUS_FILE';
  readonly problems: FileProblem[];
  constructor(problems: FileProblem[]) {
    const first = problems[0];
    const head = first ? `${first.path}${first.field ? ` (field ${first.field})` : ''}: ${first.reason}` : 'invalid bus file';
    const more = problems.length > 1 ? ` (+${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
    super(head + more, first?.fix ?? 'correct the file', { problems });
    this.problems = problems;
  }
}
