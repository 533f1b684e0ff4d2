import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBus } from '../../bus/context.js';
import { publishNodeCard } from '../../bus/ops/node-card-publish.js';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

/**
 * A runner whose program this machine lacks is not offered on the node's card by join (as the watcher's start
 * does not offer it), and a command other than the watcher that republishes the card does not offer it again.
 */
describe('the runners a node card offers', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  const card = () => gitCli(['--git-dir', bus.remote, 'show', 'main:nodes/laptop.md']);

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
  });
  afterAll(async () => bus?.cleanup());

  it('join leaves a runner without its program off the card, keeps it in node.yaml, and a republish does not add it', async () => {
    // A PATH with sh and git but no claude.
    const r = await gitbus(['join', bus.remote, '--node', 'laptop', '--runner', 'shell', '--runner', 'claude'], { home: bus.home('laptop'), env: { PATH: '/usr/bin:/bin' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: runner claude left off this node\'s card: "claude" is not on PATH');
    expect(card()).toMatch(/runners: \[manual, shell\]/);
    expect(readFileSync(join(bus.home('laptop'), 'node.yaml'), 'utf8')).toMatch(/claude/);

    const ctx = await openBus(bus.home('laptop'));
    try {
      await publishNodeCard(ctx);
      expect(card()).toMatch(/runners: \[manual, shell\]/);
    } finally {
      await ctx.repo.close();
    }
    // A claude task addressed to it anyway (--force) waits, and status says why rather than nothing.
    const d = await gitbus(['dispatch', 'review it', '--to', 'laptop', '--runner', 'claude', '--force', '--no-git', '--json'], { home: bus.home('alpha') });
    expect(d.code, d.stderr).toBe(0);
    const id = json<{ id: string }>(d).id;
    const st = json<{ tasks: { id: string; state: string; noTaker?: string }[] }>(await gitbus(['status', '--json'], { home: bus.home('alpha') }));
    expect(st.tasks.find((t) => t.id === id)).toMatchObject({ state: 'pending', noTaker: expect.stringContaining('node laptop cannot take it: it does not offer the claude runner') });
    expect((await gitbus(['status'], { home: bus.home('alpha') })).stdout).toContain('      waits: node laptop cannot take it');
    const j = await gitbus(['join', bus.remote, '--node', 'laptop2', '--runner', 'claude', '--json'], { home: bus.home('laptop2'), env: { PATH: '/usr/bin:/bin' } });
    expect(json<{ missingRunners: { runner: string; fix: string }[] }>(j).missingRunners).toEqual([expect.objectContaining({ runner: 'claude', fix: expect.stringContaining('npm install -g @anthropic-ai/claude-code') })]);
  });
});
