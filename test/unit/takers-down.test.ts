import { describe, expect, it } from 'vitest';
import type { CardFacts } from '../../bus/model/planner.js';
import { cardTakers } from '../../bus/model/planner.js';
import { takersDownText, type NodeDown } from '../../bus/model/takers-down.js';
import type { StatusTask } from '../../bus/ops/status-core.js';
import { summaryLine } from '../../bus/ops/status-digest-file.js';
import { takersDownLines, takersDownOf } from '../../bus/ops/status-no-taker.js';
import { pick, prng } from '../helpers/seeded-random.js';

/**
 * Which pending tasks wait on nodes that are down (bus/model/takers-down.ts), and which digest lines `status --json`
 * looks at again for it (status-no-taker.ts takersDownLines): never fewer than those that do.
 */
const NODES = ['n0', 'n1', 'n2', 'n3', 'n4'];
const RUNNERS = ['shell', 'claude', 'tmux', 'merge'] as const;
const LABELS = ['gpu', 'arm', 'big'];

const some = <T>(rand: () => number, all: readonly T[]): T[] => all.filter(() => rand() < 0.4);

function card(rand: () => number, node: string): CardFacts {
  if (rand() < 0.05) return { node, readable: false };
  return { node, runners: ['manual', ...some(rand, RUNNERS)], labels: some(rand, LABELS), ...(rand() < 0.15 ? { policy: { repos: ['https://git.example/a.git'] } } : {}) };
}

function task(rand: () => number, i: number): StatusTask {
  const repo = pick(rand, [null, 'https://git.example/a.git', 'https://git.example/b.git']);
  return {
    id: `t-${i}`,
    state: 'pending',
    title: pick(rand, ['a', '"gpu"', ',"to":"n1","labels":', '"runner":"shell"']),
    from: 'me',
    created: '2026-11-01T00:00:00.000Z',
    to: rand() < 0.3 ? pick(rand, NODES) : null,
    labels: some(rand, LABELS),
    runner: pick(rand, [...RUNNERS, 'manual']),
    priority: 0,
    attempts: 0,
    exhausted: false,
    claim: null,
    response: null,
    waitingFor: [],
    waitingOn: [],
    problems: [],
    repo,
    branch: null,
    group: null,
    claude: null,
    progress: null,
  };
}

describe('tasks waiting on nodes that are down', () => {
  it('is said when every node a card lets take it is down, by how each is down', () => {
    const down = new Map<string, NodeDown>([
      ['gpu', { liveness: 'stopped', beatAt: Date.parse('2026-11-01T00:00:00Z') }],
      ['pi', { liveness: 'unleased', beatAt: null }],
    ]);
    const now = Date.parse('2026-11-01T00:05:00Z');
    expect(takersDownText(['gpu'], true, down, now)).toBe('node gpu is stopped (since 2026-11-01T00:00:00Z, 5m ago): its watcher shut down cleanly; the task waits until its watcher runs again ("gitbus watch", or "gitbus service install", on gpu)');
    expect(takersDownText(['gpu'], false, down, now)).toMatch(/^the only node that can take it, node gpu is stopped/);
    expect(takersDownText(['gpu', 'pi'], false, down, now)).toMatch(/^every node that can take it is down: node gpu is stopped .*; node pi has no watcher running \(it never beat\); the task waits until one of them runs a watcher again$/);
    expect(takersDownText(['gpu', 'cpu'], false, down, now)).toBeNull();
    expect(takersDownText([], false, down, now)).toBeNull();
    // A manual task: no watcher takes it, whatever runs.
    expect(cardTakers({ to: 'gpu' }, [{ node: 'gpu', runners: ['manual', 'shell'] }])).toEqual([]);
  });

  it('status --json looks again at every digest line whose task waits so, over 2,000 random fleets', () => {
    const rand = prng(31337);
    let waiting = 0;
    for (let round = 0; round < 2000; round++) {
      const cards = NODES.map((n) => card(rand, n));
      const downNodes = new Set(NODES.filter(() => rand() < 0.5));
      const down = new Map([...downNodes].map((n): [string, NodeDown] => [n, { liveness: 'stopped', beatAt: 0 }]));
      const why = takersDownOf(cards, down, 1);
      const also = takersDownLines(cards, downNodes);
      for (let i = 0; i < 8; i++) {
        const t = task(rand, i);
        if (why(t) === null) continue;
        waiting++;
        const line = summaryLine(t);
        expect(also.allPending || also.needles.some((n) => line.includes(n)), `${JSON.stringify(cards)} down ${[...downNodes].join(',')}: ${line.toString()}`).toBe(true);
      }
    }
    expect(waiting).toBeGreaterThan(500);
  });
});
