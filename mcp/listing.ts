import { z } from '../schemas/zod.js';
import type { ServerFacts, Tool } from './tool.js';

/** A tool as tools/list describes it (structurally the SDK's Tool). */
export interface ToolListing {
  [key: string]: unknown;
  name: string;
  title: string;
  description: string;
  inputSchema: { type: 'object'; [key: string]: unknown };
  outputSchema: { type: 'object'; [key: string]: unknown };
  annotations: Tool['hints'] & { title: string };
}

/**
 * A tool's JSON Schemas, generated from its zod schemas as schemas/json is. Draft 7, which the MCP SDK's client
 * validates results with (Ajv's default); rules zod checks in code (a branch name git accepts, a duration) are
 * only in the descriptions. Both are rendered as zod renders an input: strict objects (the arguments, the fields
 * of bus files) refuse other properties, plain ones (an op's result) leave them open, so that a field an op gains
 * later does not fail a client's check; output schemas leave out string lengths (outputSchema). No schema here has a
 * default or a transform, the only other difference. Pure.
 */
export function listing(tool: Tool, server: ServerFacts): ToolListing {
  return {
    name: tool.name,
    title: tool.title,
    description: typeof tool.description === 'string' ? tool.description : tool.description(server),
    inputSchema: jsonSchema(tool.input),
    outputSchema: outputSchema(tool),
    annotations: { title: tool.title, ...tool.hints },
  };
}

/**
 * The tool's output schema as its listing publishes it. Pure. Without string lengths: a result's bus text shows its
 * control characters visibly (`<U+202E>`, mcp/call.ts), so a title at its 200-character limit can come back longer.
 */
export function outputSchema(tool: Tool): ToolListing['outputSchema'] {
  return withoutMaxLength(jsonSchema(tool.output));
}

function withoutMaxLength<T>(node: T): T {
  if (Array.isArray(node)) return node.map(withoutMaxLength) as T;
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) if (k !== 'maxLength') out[k] = withoutMaxLength(v);
  return out as T;
}

function jsonSchema(schema: z.ZodMiniObject): { type: 'object'; [key: string]: unknown } {
  const { $schema: _draft, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'throw' }) as Record<string, unknown>;
  return { ...rest, type: 'object' };
}
