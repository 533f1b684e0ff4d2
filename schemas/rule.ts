import { z } from './zod.js';

/** What is wrong with a value and how to fix it; becomes a FileProblem once the file and field are known. */
export interface Violation {
  reason: string;
  fix: string;
}

/**
 * Adds a check whose failure carries its own reason and fix (in the zod issue's `params`), so the message a user
 * sees is written next to the rule rather than reverse-engineered from a generic zod issue.
 */
export function withRule<T extends z.ZodMiniType>(schema: T, check: (value: z.output<T>) => Violation | undefined): T {
  return schema.check(
    z.superRefine((value: z.output<T>, ctx) => {
      const violation = check(value);
      if (violation) ctx.addIssue({ code: 'custom', message: violation.reason, params: { fix: violation.fix }, input: value });
    }),
  );
}
