import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ROOT, gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { taskEnd } from '../helpers/task-end.js';
import { editNode } from '../helpers/project.js';
import { statusInProcess } from '../helpers/in-process.js';

/**
 * Node policy (node.yaml `policy:`, issue 11 point 4) with real watcher processes: node w accepts at most shell
 * and claude tasks, commands matching its patterns, a 5 s timeout, a $1 budget and projects under
 * /nowhere/allowed/; node free has no policy. Refusals are answered before anything runs, a task for anyone is
 * left to free, the caps apply to what runs, and dispatch --to refuses early what w's card says it would refuse.
 */
const STANDIN = join(ROOT, 'test/fixtures/claude-standin.mjs');

let bus: Awaited<ReturnType<typeof makeBus>>;
let w: string;
let free: string;
let record: string;
let person: string;
let watcher: WatcherProcess;
const children: ChildProcess[] = [];

type Response = { status: string; reason?: string; node: string };

async function dispatch(args: string[], input?: string): Promise<string> {
  const d = await gitbus(['dispatch', ...args, '--json', '--no-git'], { home: bus.home('boss'), ...(input !== undefined ? { input } : {}) });
  expect(d.code, d.stderr + d.stdout).toBe(0);
  return json<{ id: string }>(d).id;
}

/** The task's response once it has ended (polled, bounded). */
const ended = (id: string) => taskEnd<Response>(bus.home('boss'), id, watcher);

function standinCalls(id: string): string[][] {
  if (!existsSync(record)) return [];
  return readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { argv: string[]; taskId: string | null }).filter((c) => c.taskId === id).map((c) => c.argv);
}

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  w = await bus.addNode('w', [], ['--runner', 'shell', '--runner', 'tmux', '--runner', 'claude']);
  free = await bus.addNode('free', [], ['--runner', 'shell']);
  const path = join(w, 'node.yaml');
  const config = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeFileSync(
    path,
    stringify({
      ...config,
      claude: { binary: STANDIN },
      policy: { runners: ['shell', 'claude'], repos: ['/nowhere/allowed/*'], commands: { allow: ['echo [a-z ]+', 'sleep [0-9]+'] }, maxTimeout: '5s', maxBudgetUsd: 1 },
    }),
  );
  record = join(bus.dir, 'standin-calls.jsonl');
  person = join(bus.dir, 'person');
  gitCli(['clone', '-q', bus.remote, person]);
  watcher = startWatcher(w, ['--poll', '1s'], children, { CLAUDE_STANDIN_RECORD: record, CLAUDE_STANDIN_SESSIONS: join(bus.dir, 'sessions') });
  // Its card (with the policy) goes out when the watcher starts.
  await until('w to publish its card', () => watcher.events().some((e) => e.type === 'started'), 30_000, () => watcher.stderr());
}, 90_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

describe('node policy', () => {
  it("publishes what it accepts on its node card: the runners it allows and a summary of the policy, not its command patterns", async () => {
    type Status = { nodes: { node: string; card?: { runners?: string[]; policy?: Record<string, unknown> } }[] };
    let card: Status['nodes'][number]['card'];
    await until("w's card to carry its policy", async () => {
      card = (await statusInProcess<Status>(bus.home('boss'))).nodes.find((n) => n.node === 'w')?.card;
      return card?.policy !== undefined;
    }, 20_000);
    expect(card?.runners).toEqual(['manual', 'shell', 'claude']);
    expect(card?.policy).toEqual({ repos: ['/nowhere/allowed/*'], commands: true, maxTimeout: '5s', maxBudgetUsd: 1 });
    // tmux is enabled on w but outside its policy: dispatch --to says so at once.
    const r = await gitbus(['dispatch', 'top', '--to', 'w', '--runner', 'tmux', '--command', 'top', '--no-git', '--json'], { home: bus.home('boss') });
    expect(r.code).toBe(5);
    expect(json<{ error: { code: string; message: string } }>(r).error.message).toContain('does not offer the tmux runner');
  });

  it('answers a command outside its patterns, addressed to it, with failed and the reason, without running it', async () => {
    const marker = join(bus.dir, 'marker-addressed');
    const id = await dispatch(['touch a file', '--to', 'w', '--command', `touch ${marker}`]);
    const { state, response } = await ended(id);
    expect(state).toBe('failed');
    expect(response.node).toBe('w');
    expect(response.reason).toContain("refused by node w's policy, nothing was run: policy.commands.allow: the command");
    expect(response.reason).toContain('/^(?:echo [a-z ]+)$/');
    expect(existsSync(marker)).toBe(false);
    expect(watcher.events()).toContainEqual(expect.objectContaining({ type: 'refused', id, answered: true }));
  });

  it('leaves a refused task for anyone to another node, saying why in its events, claim --next and status', async () => {
    const marker = join(bus.dir, 'marker-anyone');
    const id = await dispatch(['touch a file', '--command', `touch ${marker}`]);
    await until('w to report that it leaves the task', () => watcher.events().some((e) => e.type === 'refused' && e.id === id && e.answered === false), 20_000, () => JSON.stringify(watcher.events()));

    const claimed = await gitbus(['claim', '--next', '--json'], { home: w });
    expect(claimed.code).toBe(3);
    const err = json<{ error: { code: string; message: string; data: { refused: { id: string; reason: string }[] } } }>(claimed).error;
    expect(err.code).toBe('NOTHING_CLAIMABLE');
    expect(err.data.refused).toEqual([expect.objectContaining({ id, reason: expect.stringContaining('policy.commands.allow') })]);
    const byId = await gitbus(['claim', id, '--json'], { home: w });
    expect(byId.code).toBe(5);
    expect(json<{ error: { code: string; message: string } }>(byId).error).toMatchObject({ code: 'NOT_CLAIMABLE', message: expect.stringContaining("this node's policy refuses it: policy.commands.allow") });
    const status = json<{ tasks: { id: string; state: string; refusedHere?: string }[] }>(await gitbus(['status', '--json'], { home: w }));
    expect(status.tasks.find((t) => t.id === id)).toMatchObject({ state: 'pending', refusedHere: expect.stringContaining('policy.commands.allow') });
    expect((await gitbus(['status'], { home: w })).stdout).toContain("refused by this node's policy: policy.commands.allow");

    const ran = await gitbus(['watch', '--once', '--json'], { home: free });
    expect(ran.code, ran.stderr).toBe(0);
    expect(json<{ ran: { id: string; status: string }[] }>(ran).ran).toEqual([expect.objectContaining({ id, status: 'succeeded' })]);
    expect(existsSync(marker)).toBe(true);
  });

  it('gives a task without a timeout its maxTimeout', async () => {
    const t0 = Date.now();
    const id = await dispatch(['sleep long', '--to', 'w', '--command', 'sleep 60']);
    const { state, response } = await ended(id);
    expect(state).toBe('timed-out');
    expect(response.node).toBe('w');
    expect(response.reason).toBe("stopped after the timeout of 5s: the task gave no timeout, and node w's policy.maxTimeout is 5s");
    expect(Date.now() - t0).toBeLessThan(40_000);
  });

  it('dispatch --to refuses a longer timeout early, naming the policy; forced, the node answers it failed', async () => {
    const r = await gitbus(['dispatch', 'say hi', '--to', 'w', '--command', 'echo hi', '--timeout', '1h', '--no-git', '--json'], { home: bus.home('boss') });
    expect(r.code).toBe(5);
    const err = json<{ error: { code: string; message: string; fix: string } }>(r).error;
    expect(err.code).toBe('NODE_CANNOT_RUN');
    expect(err.message).toContain("its policy refuses it (policy.maxTimeout: the task's timeout 1h is longer than node w's limit of 5s)");
    expect(err.fix).toContain('a timeout of 5s or less, with dispatch --timeout');
    expect(err.fix).toContain('the node then answers it failed');

    const id = await dispatch(['say hi', '--to', 'w', '--command', 'echo hi', '--timeout', '1h', '--force']);
    const { state, response } = await ended(id);
    expect(state).toBe('failed');
    expect(response.reason).toContain('policy.maxTimeout');
  });

  it('refuses a claude task asking a larger budget (at dispatch, and on the node without starting claude); caps one that asks none', async () => {
    const r = await gitbus(['dispatch', 'think', '--to', 'w', '--runner', 'claude', '--max-budget-usd', '5', '--body-file', '-', '--no-git', '--json'], { home: bus.home('boss'), input: 'Think hard.\n' });
    expect(r.code).toBe(5);
    expect(json<{ error: { message: string } }>(r).error.message).toContain("policy.maxBudgetUsd: the task asks for a budget of $5, more than node w's limit of $1");

    const big = await dispatch(['think', '--to', 'w', '--runner', 'claude', '--max-budget-usd', '5', '--body-file', '-', '--force'], 'Think hard.\n');
    const refused = await ended(big);
    expect(refused.state).toBe('failed');
    expect(refused.response.reason).toContain('policy.maxBudgetUsd');
    expect(standinCalls(big)).toEqual([]);

    const capped = await dispatch(['think', '--to', 'w', '--runner', 'claude', '--body-file', '-'], 'Think briefly.\n');
    expect((await ended(capped)).state).toBe('succeeded');
    const argv = standinCalls(capped)[0] ?? [];
    expect(argv[argv.indexOf('--max-budget-usd') + 1]).toBe('1');
  });

  it('refuses a project task whose repo its policy does not list', async () => {
    const id = 'policy-repo-elsewhere';
    mkdirSync(join(person, 'handoffs'), { recursive: true });
    writeFileSync(join(person, 'handoffs', `${id}.md`), `---\n${stringify({ title: 'work elsewhere', to: 'w', command: 'echo hi', repo: '/elsewhere/other.git' })}---\n`);
    gitCli(['add', 'handoffs'], person);
    gitCli(['commit', '-q', '-m', `dispatch ${id}`], person);
    gitCli(['pull', '-q', '--rebase', 'origin', 'main'], person);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], person);
    const { state, response } = await ended(id);
    expect(state).toBe('failed');
    expect(response.reason).toContain('policy.repos: node w works only on /nowhere/allowed/*, and the task\'s repo is "/elsewhere/other.git"');
  });

  it('a policy.repos too long for the card is left off it whole, and the watcher says so at start, with the count', async () => {
    const wide = await bus.addNode('wide', [], ['--runner', 'shell']);
    // One pattern and the URLs of the 299 projects it admits: 300 entries, which a reader would take for a list an
    // earlier build cut, so one more than a card lists.
    const projects = Object.fromEntries(Array.from({ length: 299 }, (_, i) => [`app-${i}`, { url: `https://git.example/o/app-${i}.git` }]));
    editNode(wide, (c) => ({ ...c, projects, policy: { repos: ['app-*'], maxTimeout: '1h' } }));
    const ran = await gitbus(['watch', '--once'], { home: wide });
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toContain("warning: node card leaves out policy.repos: 300 entries, more than the 299 a card lists, so dispatch --to checks no task's repo against it; this node judges each when it claims\n  fix: ");
    type Status = { nodes: { node: string; card?: { policy?: Record<string, unknown> } }[] };
    const card = json<Status>(await gitbus(['status', '--json'], { home: bus.home('boss') })).nodes.find((n) => n.node === 'wide')?.card;
    expect(card?.policy).toEqual({ maxTimeout: '1h' });
  });
});
