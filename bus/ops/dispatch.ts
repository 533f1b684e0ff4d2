import { randomBytes } from 'node:crypto';
import { newTaskId } from '../../schemas/ids.js';
import { parseBusFile, renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import { InvalidBusFileError } from '../../schemas/errors.js';
import type { Handoff } from '../../schemas/handoff.js';
import { InputError } from '../errors.js';
import { transact, type TransactStats } from '../cas.js';
import type { BusContext } from '../context.js';

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
      result: { id, path, title: data.title },
      commit: { changes: [{ path, content: text }], message: `gitbus: dispatch ${id}\n\n${data.title}` },
    };
  });
}
