import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitCli, ROOT } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

/**
 * A dispatch reads a few tasks of the bus: the id it draws, an id it is given, what `--after` names. On a bus of many
 * live tasks it looks their names up (bus/model/lean-index.ts), in its own decision and in its delivery's, rather than
 * index every task's files (issue 14: a dispatch on a bus of 200 tasks). Run in a process of its own, the build's
 * modules loaded there alone, so that the index memo says whether any whole index was built.
 */
describe('a dispatch indexes no task it does not name', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  const ids: string[] = [];

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({ title: `live ${i}`, command: 'true', ...(i === 0 ? { id: 'taken-one' } : {}) }));
    writeFileSync(join(bus.home('alpha'), 'tasks.jsonl'), `${lines.join('\n')}\n`);
    await bus.dispatch('alpha', ['--from', join(bus.home('alpha'), 'tasks.jsonl')]);
    ids.push(...gitCli(['--git-dir', bus.remote, 'ls-tree', '--name-only', 'main', 'handoffs/']).trim().split('\n').map((p) => p.replace(/^handoffs\/|\.md$/g, '')));
  });
  afterAll(async () => bus?.cleanup());

  /** Dispatches `steps` (DispatchInput's handoff and id) in one process; after each, whether an index was built, and its id or error code. */
  const inProcess = (steps: { handoff: Record<string, unknown>; id?: string }[]): { indexed: boolean; id?: string; error?: string }[] => {
    const file = join(bus.home('alpha'), `steps-${Math.random().toString(36).slice(2)}.mjs`);
    const dist = (p: string) => JSON.stringify(join(ROOT, 'dist', p));
    writeFileSync(
      file,
      `import { openBus } from ${dist('bus/context.js')};
      import { dispatch } from ${dist('bus/ops/dispatch.js')};
      import { indexMemo } from ${dist('bus/model/snapshot-memos.js')};
      const ctx = await openBus(${JSON.stringify(bus.home('alpha'))});
      const out = [];
      for (const step of ${JSON.stringify(steps)}) {
        try {
          const r = await dispatch(ctx, { handoff: step.handoff, body: '## Task\\n\\nlean\\n', ...(step.id ? { id: step.id } : {}) });
          out.push({ indexed: indexMemo.last !== null, id: r.id });
        } catch (err) {
          out.push({ indexed: indexMemo.last !== null, error: err.code ?? String(err) });
        }
      }
      await ctx.repo.close?.();
      process.stdout.write(JSON.stringify(out));`,
    );
    return JSON.parse(execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 })) as { indexed: boolean; id?: string; error?: string }[];
  };

  it('draws an id, refuses a taken one and delivers without indexing the live tasks; --after reads them all', () => {
    expect(ids).toHaveLength(12);
    const [plain, taken, after] = inProcess([{ handoff: { title: 'plain', to: 'alpha' } }, { handoff: { title: 'taken' }, id: 'taken-one' }, { handoff: { title: 'after', after: [ids[3]?.slice(-6)] } }]);
    expect(plain).toMatchObject({ indexed: false });
    expect(ids).not.toContain(plain?.id);
    expect(gitCli(['--git-dir', bus.remote, 'show', `main:handoffs/${plain?.id}.md`])).toContain('title: plain');
    expect(taken).toEqual({ indexed: false, error: 'TASK_ID_TAKEN' });
    // A short ref is resolved among every live id: the whole index, and the full id written.
    expect(after).toMatchObject({ indexed: true });
    expect(gitCli(['--git-dir', bus.remote, 'show', `main:handoffs/${after?.id}.md`])).toContain(`after: [${ids[3]}]`);
  });

  it('delivers a queue through the lean index as through the whole one: a handoff on main already is delivered, another one of its id refused', () => {
    const [same, other] = [ids[5] as string, ids[6] as string];
    const text = (id: string) => gitCli(['--git-dir', bus.remote, 'show', `main:handoffs/${id}.md`]);
    const entry = (id: string, body: string) => ({ kind: 'dispatch', id, path: `handoffs/${id}.md`, text: body, title: id, queuedAt: new Date().toISOString(), chosenId: true });
    const file = join(bus.home('alpha'), `deliver-${Math.random().toString(36).slice(2)}.mjs`);
    const dist = (p: string) => JSON.stringify(join(ROOT, 'dist', p));
    writeFileSync(
      file,
      `import { openBus } from ${dist('bus/context.js')};
      import { putQueue } from ${dist('bus/queue.js')};
      import { deliverQueued } from ${dist('bus/ops/deliver.js')};
      import { indexMemo } from ${dist('bus/model/snapshot-memos.js')};
      const home = ${JSON.stringify(bus.home('alpha'))};
      putQueue(home, ${JSON.stringify(entry(same, text(same)))});
      putQueue(home, ${JSON.stringify(entry(other, `${text(other)}\nanother task's words\n`))});
      const ctx = await openBus(home);
      const r = await deliverQueued(ctx);
      process.stdout.write(JSON.stringify({ indexed: indexMemo.last !== null, delivered: r.delivered.map((e) => e.id), rejected: r.rejected.map((e) => [e.entry.id, e.reason]), commit: r.commit }));`,
    );
    const out = JSON.parse(execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 })) as { indexed: boolean; delivered: string[]; rejected: [string, string][]; commit: string | null };
    expect(out).toEqual({ indexed: false, delivered: [same], rejected: [[other, `a different task with id ${other} reached the bus first`]], commit: null });
  });
});
