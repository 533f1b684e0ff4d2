import { randomBytes } from 'node:crypto';
import { newTaskId } from '../../schemas/ids.js';
import { parseBusFile, renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import { InvalidBusFileError } from '../../schemas/errors.js';
import type { Handoff } from '../../schemas/handoff.js';
import { InputError } from '../errors.js';
import { transact, type TransactStats } from '../cas.js';
import type { BusContext } from '../context.js';
import type { Snapshot } from '../model/snapshot.js';

/** Problems that do not make a handoff invalid but would leave it waiting: said at once, not discovered later. */
async function dispatchWarnings(snap: Snapshot, h: Handoff): Promise<string[]> {
  const warnings: string[] = [];
  const nodes = await snap.nodes();
  if (h.to && !nodes.some((n) => n.node === h.to)) warnings.push(`no node named "${h.to}" is on this bus yet; the task waits until one joins`);
  const candidates = nodes.filter((n) => !h.to || n.node === h.to);
  const missing = (h.labels ?? []).filter((l) => !candidates.some((n) => n.card?.labels?.includes(l)));
  if (missing.length > 0 && candidates.length > 0) warnings.push(`no ${h.to ? `node ${h.to}` : 'node'} has label(s) ${missing.join(', ')}; the task waits until one does`);
  for (const dep of h.after ?? []) if (!snap.has(dep)) warnings.push(`dependency ${dep} is not a live task (if it was archived, its archived result counts)`);
  return warnings;
}

export interface DispatchInput {
  /** Everything that goes into the handoff's frontmatter except id, from and created. */
  handoff: Omit<Handoff, 'id' | 'from' | 'created'>;
  body: string;
  /** A chosen id; generated when absent. */
  id?: string;
  now?: Date;
}

export interface DispatchResult {
  id: string;
  path: string;
  title: string;
  /** Why the task may wait longer than expected (an unknown node, labels no node has, missing dependencies). */
  warnings: string[];
}

export async function dispatch(ctx: BusContext, input: DispatchInput): Promise<DispatchResult & TransactStats> {
  const now = input.now ?? new Date();
  return transact(ctx, 'dispatch', async (snap) => {
    let id = input.id ?? newTaskId(now, randomBytes);
    if (snap.has(id)) {
      if (input.id) throw new InputError(`a task with id ${id} already exists`, 'choose another id, or leave it out to get a generated one', { id });
      // Two generated ids collided (30 random bits within one second): draw again.
      while (snap.has(id)) id = newTaskId(now, randomBytes);
    }
    const data = { id, ...input.handoff, from: ctx.config.node, created: now.toISOString() } as Handoff;
    const path = pathFor({ kind: 'handoff', id });
    const text = renderBusFile('handoff', data, input.body);
    // Validate exactly what will be committed, with the same parser every reader uses.
    const check = parseBusFile(path, text);
    if (!check.ok) throw new InvalidBusFileError(check.problems);
    return {
      result: { id, path, title: data.title, warnings: await dispatchWarnings(snap, data) },
      commit: { changes: [{ path, content: text }], message: `gitbus: dispatch ${id}\n\n${data.title}` },
    };
  });
}
