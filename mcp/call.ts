import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { JsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import { asLocalFailure } from '../bus/local-io.js';
import { outputSchema } from './listing.js';
import { fitResult } from './result-fit.js';
import { GitbusError, firstLine, type FileProblem } from '../schemas/errors.js';
import type { z } from 'zod/mini';
import { problemsFromIssues } from '../schemas/field-problems.js';
import { redactDeep } from '../schemas/url-redact.js';
import { visibleStrings } from '../schemas/output-text.js';
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
    // Bus content (a handoff's or response's body, a file's text) is anyone's with push access: its control
    // characters are shown, not passed on, as the CLI and the web view show them (a client may print the result
    // in a terminal, and a bidirectional override reorders what a person reads).
    // And cut to fit one message: a result over a client's line limit would end its session (mcp/result-fit.ts).
    const out = fitResult(visibleStrings(await tool.run(parsed.data, env)));
    const text = JSON.stringify(out, null, 2);
    const checked = outputCheck(tool)(out);
    if (checked.valid) return { content: [{ type: 'text', text }], structuredContent: out };
    // A result the client would refuse (its SDK checks it against the published schema) is given as text: a call
    // that changed the bus (a claim) must still tell the model what it did.
    log(`gitbus mcp: the result of ${tool.name} does not fit its output schema (${checked.errorMessage}); given as text`);
    return unfitResult(tool.name, checked.errorMessage, text);
  } catch (err) {
    const e = asLocalFailure(err, env.home);
    if (e instanceof GitbusError) return errorResult({ code: e.code, message: inToolWords(firstLine(e)), fix: inToolWords(e.fix), data: e.data });
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
  return [...unknown, ...problemsFromIssues(tool.name, tool.input, issues.filter((i) => i.code !== 'unrecognized_keys'), { json: true })];
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
export function errorResult(raw: ToolErrorData): ToolResult {
  // Whatever built it (a GitbusError redacts its own), a URL's password is not handed to the model; what it quotes
  // of the bus has its control characters shown, as the CLI's errors do.
  const e = visibleStrings(redactDeep(raw) as ToolErrorData);
  return {
    content: [{ type: 'text', text: `${e.code}: ${e.message}\nfix: ${e.fix}` }],
    isError: true,
    _meta: { 'gitbus/error': e },
  };
}

/** Each tool's published output schema, compiled once, with the validator MCP clients of the SDK use. */
const checks = new Map<string, JsonSchemaValidator<unknown>>();
let validator: AjvJsonSchemaValidator | undefined;
function outputCheck(tool: Tool): JsonSchemaValidator<unknown> {
  let check = checks.get(tool.name);
  if (!check) {
    validator ??= new AjvJsonSchemaValidator();
    check = validator.getValidator(outputSchema(tool));
    checks.set(tool.name, check);
  }
  return check;
}

/**
 * A result that does not fit its schema (a bus file's value that the client's checker reads more strictly than
 * gitbus's did): an error result, since a result without structured content is refused too, whose text says the
 * call was carried out and carries the whole result. Pure.
 */
export function unfitResult(tool: string, why: string, resultJson: string): ToolResult {
  const e: ToolErrorData = {
    code: 'RESULT_SCHEMA',
    message: `${tool} was carried out, but its result does not fit the tool's output schema (${why}), so it is given as text below`,
    fix: 'read the result below (a bus file likely has a value gitbus should have refused: `gitbus lint` names it); this is a bug in gitbus, please report it',
  };
  const r = errorResult(e);
  return { ...r, content: [{ type: 'text', text: `${r.content[0]?.text ?? ''}\nresult:\n${resultJson}` }] };
}

/**
 * The CLI's words in errors' messages and fixes (bus/ errors are written for `gitbus` commands) as a tool call's:
 * a flag as the argument that does the same, a command as the tool. Each entry is checked against the error that
 * says it (test/unit/mcp-pure.test.ts).
 */
const TOOL_WORDS: [RegExp, string][] = [
  [/\badd --force\b/g, 'give force: true'],
  [/\bgive --repo URL, or --no-repo for a plain task/g, 'give repo (a URL or path), or leave out repo and cwd for a plain task'],
  [/\badd --no-repo for a task that does not work on this code/g, 'leave out repo and cwd for a task that does not work on this code'],
  [/\bclaim it first: gitbus claim \S+/g, 'claim it first with claim_next'],
  [/"gitbus status"/g, 'the status tool'],
  [/\brun it inside a checkout of the project \(one with a remote\), or name the project with --repo URL\b/g, 'give cwd (a directory inside a checkout of the project, one with a remote), or name the project with repo (a URL or path)'],
  [/\bwith --repo URL\b/g, 'with repo (a URL or path)'],
  [/(^|[\s(])--(repo|base|branch|after|to|labels|priority|timeout|runner|command|workdir)\b/g, '$1$2'],
  [/"gitbus show [^"\s]+"/g, 'the show tool'],
  [/\bgitbus show ID shows its result/g, 'the show tool shows its result'],
  // The server's home is where it was started with, not a flag of a call.
  [/\(or pass --home \/ GITBUS_HOME\)/g, '(or start the server on another home: claude mcp add gitbus -e GITBUS_HOME=PATH -- gitbus mcp)'],
];

/** `text` in a tool call's words (TOOL_WORDS). Pure. */
export function inToolWords(text: string): string {
  return TOOL_WORDS.reduce((t, [from, to]) => t.replace(from, to), text);
}
