import { asLocalFailure } from '../bus/local-io.js';
import { GitbusError, firstLine, type FileProblem } from '../schemas/errors.js';
import type { z } from 'zod/mini';
import { problemsFromIssues } from '../schemas/field-problems.js';
import { knownKeysAt } from '../schemas/schema-walk.js';
import { nearestName } from '../schemas/suggest.js';
import type { Tool, ToolEnv } from './tool.js';

/** A tools/call result as MCP defines it (structurally the SDK's CallToolResult). */
export interface ToolResult {
  [key: string]: unknown;
  content: { type: 'text'; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  _meta?: Record<string, unknown>;
}

/** What an error result carries for a program, beside the text a model reads: the CLI's `--json` error. */
export interface ToolErrorData {
  code: string;
  message: string;
  fix: string;
  data?: Record<string, unknown>;
}

/**
 * Runs one tool call: checks the arguments against the tool's input schema, runs its handler and shapes the
 * result. Never throws: a bad argument, a GitbusError or a bug comes back as a tool error (`isError`) whose text
 * says what is wrong and how to fix it, so that the model can correct itself and the server keeps serving.
 */
export async function callTool(tool: Tool, args: unknown, env: ToolEnv & { home: string }, log: (line: string) => void): Promise<ToolResult> {
  const parsed = tool.input.safeParse(args ?? {}, { reportInput: true });
  if (!parsed.success) return errorResult(badArguments(tool.name, argumentProblems(tool, parsed.error.issues)));
  try {
    const out = await tool.run(parsed.data, env);
    return { content: [{ type: 'text', text: JSON.stringify(out, null, 2) }], structuredContent: out };
  } catch (err) {
    const e = asLocalFailure(err, env.home);
    if (e instanceof GitbusError) return errorResult({ code: e.code, message: firstLine(e), fix: e.fix, data: e.data });
    log(`gitbus mcp: internal error in ${tool.name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return errorResult({ code: 'INTERNAL', message: `internal error: ${e instanceof Error ? e.message : String(e)}`, fix: 'this is a bug in gitbus; please report it with the tool call that caused it (the server logged the stack on its standard error)' });
  }
}

/**
 * The arguments' problems, described as the bus's own files are (schemas/field-problems.ts: what was expected,
 * what came, the fix), except unknown arguments: a file may keep a field of its own as `x-…`, a call may not.
 */
function argumentProblems(tool: Tool, issues: readonly z.core.$ZodIssue[]): FileProblem[] {
  const unknown: FileProblem[] = [];
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    const known = knownKeysAt(tool.input, issue.path);
    for (const key of issue.keys) {
      const near = nearestName(key, known);
      const field = [...issue.path, key].map(String).join('.');
      unknown.push({ path: tool.name, field, reason: `unknown argument "${field}"`, fix: near !== undefined ? `did you mean "${near}"?` : `leave it out (the arguments are ${known.join(', ')})`, severity: 'error' });
    }
  }
  return [...unknown, ...problemsFromIssues(tool.name, tool.input, issues.filter((i) => i.code !== 'unrecognized_keys'))];
}

/** The arguments' problems as one error: each with the field, what was wrong and the fix. Pure. */
export function badArguments(tool: string, problems: FileProblem[]): ToolErrorData {
  const data = { problems: problems.map(({ field, reason, fix }) => ({ field, reason, fix })) };
  const first = problems[0];
  const where = (p: FileProblem) => `${p.field || 'the arguments'}: ${p.reason}`;
  if (problems.length === 1 && first) return { code: 'BAD_INPUT', message: `invalid arguments for ${tool}: ${where(first)}`, fix: first.fix, data };
  const lines = problems.map((p) => `\n- ${where(p)} (fix: ${p.fix})`);
  return { code: 'BAD_INPUT', message: `invalid arguments for ${tool}:${lines.join('')}`, fix: "correct each argument as its line says; the tool's input schema describes them", data };
}

/** An error result: the message, the fix and the code as text for the model, the same as data in `_meta`. Pure. */
export function errorResult(e: ToolErrorData): ToolResult {
  return {
    content: [{ type: 'text', text: `${e.code}: ${e.message}\nfix: ${e.fix}` }],
    isError: true,
    _meta: { 'gitbus/error': e },
  };
}
