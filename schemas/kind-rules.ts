import type { Violation } from './rule.js';

/** A broken rule that spans fields, found after the schema accepted each field on its own. */
export interface FieldViolation extends Violation {
  /** Dotted path, as in FileProblem. */
  field: string;
  severity: 'error' | 'warning';
}
