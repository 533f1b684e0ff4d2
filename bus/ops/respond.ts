import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import type { TaskResponse as Response } from '../../schemas/response.js';
import { transact, type TransactStats } from '../cas.js';
import type { BusContext } from '../context.js';
import { heldTask } from './holder.js';

export interface RespondInput {
  id: string;
  status: Response['status'];
  summary?: string;
  results?: string;
  output?: string;
  exitCode?: number | null;
  reason?: string;
  started?: string;
  durationMs?: number;
  now?: () => Date;
}

export interface RespondResult {
  id: string;
  status: Response['status'];
  path: string;
}

/** The response body, in the shape of the seed's report-back: summary, results, output tail. Pure. */
export function responseBody(input: Pick<RespondInput, 'summary' | 'results' | 'output'>): string {
  const parts: string[] = [];
  if (input.summary !== undefined) parts.push(`## Summary\n\n${input.summary.trim()}\n`);
  if (input.results !== undefined) parts.push(`## Results\n\n${input.results.trim()}\n`);
  if (input.output !== undefined) parts.push(`## Output\n\n\`\`\`\n${input.output.replace(/```/g, "'''").trimEnd()}\n\`\`\`\n`);
  return parts.join('\n');
}

export async function respond(ctx: BusContext, input: RespondInput): Promise<RespondResult & TransactStats> {
  const now = input.now ?? (() => new Date());
  return transact(ctx, 'respond', async (snap) => {
    const view = await heldTask(snap, input.id, ctx.config.node, 'respond');
    const data: Response = {
      id: view.id,
      status: input.status,
      node: ctx.config.node,
      attempt: view.claim.attempt,
      finished: now().toISOString(),
    };
    if (input.started ?? view.claim.data?.claimed) data.started = input.started ?? view.claim.data?.claimed;
    if (input.exitCode !== undefined) data.exitCode = input.exitCode;
    if (input.durationMs !== undefined) data.durationMs = input.durationMs;
    if (input.reason !== undefined) data.reason = input.reason;
    if (view.handoff) data.runner = view.handoff.runner ?? (view.handoff.command ? 'shell' : 'manual');
    const path = pathFor({ kind: 'response', id: view.id });
    return {
      result: { id: view.id, status: input.status, path },
      commit: { changes: [{ path, content: renderBusFile('response', data, responseBody(input)) }], message: `gitbus: respond ${view.id} ${input.status} by ${ctx.config.node}` },
    };
  });
}
