import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import type { ClaudeReport, TaskResponse as Response } from '../../schemas/response.js';
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
  /** The claude runner's session, cost, turns and model. */
  claude?: ClaudeReport;
  /** The icecc runner's counts: a line in the Results section (the response schema has no field for them). */
  icecc?: { compiles: number; remote: number; local: number; scheduler: string | null };
  now?: () => Date;
}

export interface RespondResult {
  id: string;
  status: Response['status'];
  path: string;
}

/** The response body, in the shape of the seed's report-back: summary, results, output tail. Pure. */
export function responseBody(input: Pick<RespondInput, 'summary' | 'results' | 'output' | 'icecc'>): string {
  const parts: string[] = [];
  const results = input.icecc ? [input.results?.trim(), iceccLine(input.icecc)].filter(Boolean).join('\n\n') : input.results;
  if (input.summary !== undefined) parts.push(`## Summary\n\n${input.summary.trim()}\n`);
  if (results !== undefined) parts.push(`## Results\n\n${results.trim()}\n`);
  if (input.output !== undefined) parts.push(`## Output\n\n\`\`\`\n${input.output.replace(/```/g, "'''").trimEnd()}\n\`\`\`\n`);
  return parts.join('\n');
}

/** "icecc: 12 compiles, 9 remote, 3 local via scheduler 10.0.0.5" — whether a build was distributed, in words. Pure. */
export function iceccLine(c: NonNullable<RespondInput['icecc']>): string {
  const via = c.scheduler ? `via scheduler ${c.scheduler}` : 'via the scheduler iceccd found';
  if (c.compiles === 0) return `icecc: no compiles went through icecc ${via} (does the build use $CC and $CXX?)`;
  const unknown = c.compiles - c.remote - c.local;
  return (
    `icecc: ${c.compiles} ${c.compiles === 1 ? 'compile' : 'compiles'}, ${c.remote} remote, ${c.local} local` +
    `${unknown > 0 ? `, ${unknown} unfinished` : ''} ${via}${c.remote === 0 ? ' — none was distributed' : ''}`
  );
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
    if (input.claude !== undefined && Object.keys(input.claude).length > 0) data.claude = input.claude;
    const path = pathFor({ kind: 'response', id: view.id });
    return {
      result: { id: view.id, status: input.status, path },
      commit: { changes: [{ path, content: renderBusFile('response', data, responseBody(input)) }], message: `gitbus: respond ${view.id} ${input.status} by ${ctx.config.node}` },
    };
  });
}
