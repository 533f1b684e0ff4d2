import { HANDOFF_FIELDS } from '../../schemas/handoff-fields.js';
import type { Handoff } from '../../schemas/handoff.js';
import { pick as pickOne, yamlishString } from './seeded-random.js';

/**
 * Handoffs drawn for the fast handoff writer and reader (schemas/handoff-fast.ts, handoff-fast-read.ts), held
 * against renderBusFile and parseBusFile: most valid, each field's rule hit, a few with fields the fast code leaves
 * to the schemas.
 */

export const ID = '20261205-101500-5j5m4r';
export const OTHER = '20261205-101501-abcdef';
export const COMMIT = 'a'.repeat(40);

/** Values of each field, valid and not, drawn so that most handoffs are valid and each rule is hit. */
export function field(rand: () => number, key: (typeof HANDOFF_FIELDS)[number]): unknown {
  // Mostly the first two of each list (valid values), else any.
  const v = rand() < 0.7;
  const pick = <T>(r: () => number, items: readonly T[]): T => pickOne(r, v ? items.slice(0, 2) : items);
  const s = () => yamlishString(rand, 4);
  switch (key) {
    case 'title': return v ? s() || 'x' : pick(rand, ['Run the tests', 'fix: the build (again)', "it's \"quoted\"", '- a list?', 'x'.repeat(200), 'x'.repeat(201), '', ' ', 'a\nb', s(), s(), s()]);
    case 'from': return pick(rand, ['bench', 'ada@laptop', s(), 'x'.repeat(101)]);
    case 'created': return pick(rand, ['2026-12-05T10:15:00.853Z', '2026-12-05T10:15:00+01:00', '2026-13-01T00:00:00Z', 'now', 42]);
    case 'to': return pick(rand, ['node-1', 'gpu.box', 'Bad Name', 'x'.repeat(41), s()]);
    case 'labels': return pick(rand, [['gpu'], ['a:b', 'c.d'], [], ['BAD'], [''], [s()], 'gpu', ['1e3', 'true', '0x1f', 'null', '0o17', '1.5', '42']]);
    case 'runner': return pick(rand, ['manual', 'claude', 'shell', 'tmux', 'icecc', 'merge', 'nope']);
    case 'command': return pick(rand, ['make test', 'echo "a: b" # c', 'a\nb', 'x'.repeat(16 * 1024 + 1), '', s(), s()]);
    case 'workdir': return pick(rand, ['src', 'src/project', '../up', '/abs', '~/x', 'a\\b', 'C:x', s()]);
    case 'repo': return pick(rand, ['git@host:team/app.git', '/srv/git/app.git', 'https://host/app.git', 'https://u:p@host/a.git', '-x', 'ext::sh', 'a b', s()]);
    case 'base': return pick(rand, ['main', COMMIT, 'v1.2', '-x', 'a b', s()]);
    case 'baseCommit': return pick(rand, [COMMIT, 'b'.repeat(64), 'xyz', s()]);
    case 'branch': return pick(rand, ['gitbus/' + ID, 'feature/x', 'a..b', 'gitbus/A/B', '-x', 'x.lock', s()]);
    case 'group': case 'workstream': return pick(rand, ['g1', 'fan.out-2', 'Bad', '', s(), '123', '1e3', 'null', '1.5']);
    case 'resumes': return pick(rand, [OTHER, OTHER, 'Bad id', s(), '1e3', 'true', '0o17']);
    case 'after': return pick(rand, [[OTHER], [], [OTHER, OTHER], [ID], ['Bad'], [s()], ['123', 'null', '0x1f']]);
    case 'priority': return pick(rand, [5, -1000, 1000, 0, 1001, 1.5, '3', -0]);
    case 'timeout': return pick(rand, ['30m', '1h30m', '0s', '10', 'x', s()]);
    case 'autoCommit': case 'keep': return pick(rand, [true, false, 'yes']);
    case 'schedule': return pick(rand, ['0 3 * * *', 'x']);
    case 'claude': return pick(rand, [{ model: 'sonnet' }, {}]);
    case 'merge': return pick(rand, [['feature/x'], []]);
    case 'protocol': return pick(rand, [1, 2]);
    case 'id': return ID;
  }
}

export function drawHandoff(rand: () => number): Handoff {
  const h: Record<string, unknown> = { id: ID, title: field(rand, 'title'), from: 'bench', created: '2026-12-05T10:15:00.853Z' };
  for (const key of HANDOFF_FIELDS) if (key !== 'id' && key !== 'title' && rand() < (key === 'schedule' || key === 'claude' || key === 'merge' || key === 'protocol' ? 0.02 : 0.12)) h[key] = field(rand, key);
  if (rand() < 0.02) h['unknown'] = 'x';
  if (rand() < 0.02) delete h['title'];
  return h as Handoff;
}

/** Bodies: plain, empty, with CRLF, fences, conflict markers, and one over the size limit. */
export const BODIES = ['## Task\n\nRun the tests\n', '', 'x', '## Task\n\nx\n', '## Task\n\nx\n', 'é\r\n', '---\n', 'a\n---\nb\n', '<<<<<<< HEAD\nx\n', '=======\n', 'é\r\n', 'x'.repeat(256 * 1024)];
