import { expect } from 'vitest';
import { parseBusFile, type ParseResult } from '../../schemas/bus-file.js';
import type { FileProblem } from '../../schemas/errors.js';

/** Builders and assertions shared by the bus-file tests. */
export const ID = '20261121-042933-k3f9qx';
export const HPATH = `handoffs/${ID}.md`;

export function fm(yaml: string, body = ''): string {
  return `---\n${yaml.endsWith('\n') ? yaml : `${yaml}\n`}---\n${body}`;
}

export function problems(r: ParseResult): FileProblem[] {
  if (r.ok) throw new Error(`expected a failure, got ${JSON.stringify(r.file)}`);
  return r.problems;
}

/** The one problem for `field`, asserting there is exactly one. */
export function problemAt(r: ParseResult, field: string): FileProblem {
  const found = problems(r).filter((p) => p.field === field);
  if (found.length !== 1) throw new Error(`expected one problem at "${field}", got ${JSON.stringify(problems(r), null, 2)}`);
  return found[0] as FileProblem;
}

export function expectProblem(r: ParseResult, path: string, field: string, reason: RegExp, fix?: RegExp): void {
  const p = problemAt(r, field);
  expect(p.path).toBe(path);
  expect(p.severity).toBe('error');
  expect(p.reason).toMatch(reason);
  if (fix) expect(p.fix).toMatch(fix);
  expect(p.fix.length).toBeGreaterThan(0);
}

export const handoffYaml = (extra: string): string => fm(`title: Run it\ncommand: make\n${extra}`);
export const parseHandoff = (extra: string): ParseResult => parseBusFile(HPATH, handoffYaml(extra));
