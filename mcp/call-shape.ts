import { errorResult } from './call.js';

/**
 * A `tools/call` whose shape the MCP SDK cannot parse is answered by the SDK with an internal error (-32603) whose
 * message is a raw schema dump (`arguments: []`), or not at all (an object `progressToken`): the model learns
 * nothing it can act on. Such calls are looked at here, before the SDK reads them, and answered as gitbus answers
 * any bad argument: arguments that are not an object are a tool error naming the tool and the fix; a call without
 * a tool's name, or a progress token of the wrong kind, is an invalid-params error saying what was expected.
 * `arguments: null` is taken as no arguments, as the server takes a missing `arguments`.
 */

export type CallShape =
  | { kind: 'pass'; line: Buffer }
  | { kind: 'answer'; message: { jsonrpc: '2.0'; id: string | number; result: Record<string, unknown> } | { jsonrpc: '2.0'; id: string | number; error: { code: number; message: string } } };

/** The JSON-RPC code for invalid params (the SDK's ErrorCode.InvalidParams; the SDK's types are not loaded here). */
const INVALID_PARAMS = -32602;

/** What a call looks like, or the answer it gets instead of reaching the SDK. Pure. */
export function callShape(line: Buffer, tools: readonly string[]): CallShape {
  const pass: CallShape = { kind: 'pass', line };
  // Only a call is looked at; every other message is the SDK's, as is a line that is not JSON (a parse error).
  if (!line.includes('"tools/call"')) return pass;
  let msg: unknown;
  try {
    msg = JSON.parse(line.toString('utf8'));
  } catch {
    return pass;
  }
  if (!isPlainObject(msg) || msg.method !== 'tools/call') return pass;
  const id = msg.id;
  // A notification or a request without a usable id cannot be answered.
  if (typeof id !== 'string' && typeof id !== 'number') return pass;
  const invalid = (message: string): CallShape => ({ kind: 'answer', message: { jsonrpc: '2.0', id, error: { code: INVALID_PARAMS, message } } });
  const names = tools.join(', ');
  const params = msg.params;
  if (!isPlainObject(params)) return invalid(`tools/call needs params, an object with the tool's name and its arguments: {"name": "status", "arguments": {}} (the tools are ${names})`);
  if (typeof params.name !== 'string') return invalid(`tools/call needs params.name, the name of a tool (${names}), as a string`);
  const meta = params._meta;
  if (meta !== undefined && !isPlainObject(meta)) return invalid('params._meta must be an object (it may hold a progressToken)');
  if (isPlainObject(meta) && meta.progressToken !== undefined && typeof meta.progressToken !== 'string' && typeof meta.progressToken !== 'number') {
    return invalid(`params._meta.progressToken must be a string or a number, not ${kindOf(meta.progressToken)}`);
  }
  // An unknown tool is the server's own invalid-params error, which names the tools.
  if (!tools.includes(params.name)) return params.arguments === undefined || isPlainObject(params.arguments) ? pass : invalid(`no tool "${params.name}": the tools are ${names}`);
  if (params.arguments === null) {
    const rest = { ...params };
    delete rest.arguments;
    return { kind: 'pass', line: Buffer.from(`${JSON.stringify({ ...msg, params: rest })}\n`) };
  }
  if (params.arguments === undefined || isPlainObject(params.arguments)) return pass;
  const bad = errorResult({
    code: 'BAD_INPUT',
    message: `invalid arguments for ${params.name}: the arguments are ${kindOf(params.arguments)}, not an object of named arguments`,
    fix: `give arguments as an object whose keys are the argument names ({} for none): the ${params.name} tool's input schema names them`,
  });
  return { kind: 'answer', message: { jsonrpc: '2.0', id, result: bad } };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
