import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBus, type BusContext } from '../../bus/context.js';
import { runHook } from '../../claude/hook.js';
import { parseHookInput } from '../../claude/hook-input.js';
import { readLedger } from '../../claude/session-ledger.js';
import { recordForClaudeSession } from '../../cli/claude-session.js';
import { ROOT } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { deliverRefused, refusedRun } from '../helpers/refused-push.js';

const FIXTURES = join(ROOT, 'test/fixtures/claude-hooks');

/** Claude Code's recorded input of a hook, for this session (and a SessionStart's `source`). */
function input(event: 'SessionStart' | 'UserPromptSubmit', session: string, over: Record<string, unknown> = {}) {
  const recorded = JSON.parse(readFileSync(join(FIXTURES, `${event}.json`), 'utf8')) as Record<string, unknown>;
  return parseHookInput(JSON.stringify({ ...recorded, session_id: session, ...over }));
}

/**
 * `/clear` starts a new session id in the same Claude Code process (SessionStart with `source: "clear"`): what the
 * session it left dispatched and still has news of is heard in the new one. Through the real entry points: the
 * recording a dispatch run by Claude makes (CLAUDE_CODE_SESSION_ID, CLAUDE_PID) and the hooks fed Claude Code's
 * recorded hook input.
 */
describe('after /clear the new session hears what the one it left dispatched', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let ctx: BusContext;
  let home: string;
  const head = 'd'.repeat(40);

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    home = bus.home('alpha');
    ctx = await openBus(home);
  });
  afterAll(async () => {
    await ctx?.repo.close();
    await bus?.cleanup();
  });

  const env = (session: string | null, pid: number): NodeJS.ProcessEnv => ({ ...(session ? { CLAUDE_CODE_SESSION_ID: session } : {}), CLAUDE_PID: String(pid) });
  const start = (session: string, pid: number, source: string) => runHook('session-start', input('SessionStart', session, { source }), home, env(null, pid));
  const prompt = (session: string) => runHook('user-prompt-submit', input('UserPromptSubmit', session), home);
  const ids = (session: string) => (readLedger(home, session)?.tasks ?? []).map((t) => t.id);

  it('a task told ended with its branch not pushed yet moves too: the push that lands after /clear is told in the new session, once', async () => {
    const pid = 910_001;
    const old = 'a1a1a1a1-0000-4000-8000-000000000001';
    const fresh = 'a2a2a2a2-0000-4000-8000-000000000002';
    await start(old, pid, 'startup');
    const id = await refusedRun(bus, 'alpha', 'pushed after a /clear', head);
    recordForClaudeSession(home, [{ id, title: 'pushed after a /clear' }], env(old, pid));
    expect(String((await prompt(old)).output?.['systemMessage'])).toContain(`${id} succeeded`);
    expect(readLedger(home, old)?.tasks).toEqual([expect.objectContaining({ id, awaitsPush: true })]);

    await start(fresh, pid, 'clear');
    expect(ids(fresh)).toEqual([id]);
    expect(ids(old), 'the session left keeps nothing that is still news').toEqual([]);
    await deliverRefused(ctx, id, head);
    expect(String((await prompt(fresh)).output?.['systemMessage'])).toContain(`${id} branch pushed now`);
    expect((await prompt(fresh)).output, 'told once').toBeNull();
    expect((await prompt(old)).output).toBeNull();
  });

  it('a session start whose note of its process cannot be written still answers as one without a process id', async () => {
    const beta = await bus.addNode('beta');
    // A file where the sessions folder goes (a full disk or a read-only home fail the same write).
    mkdirSync(join(beta, 'claude'), { recursive: true });
    writeFileSync(join(beta, 'claude', 'sessions'), 'not a folder\n');
    const session = 'c1c1c1c1-0000-4000-8000-000000000001';
    const withPid = await runHook('session-start', input('SessionStart', session, { source: 'startup' }), beta, env(null, 910_003));
    const without = await runHook('session-start', input('SessionStart', session, { source: 'startup' }), beta, {});
    expect(withPid.exitCode).toBe(0);
    expect(withPid).toEqual(without);
  });

  it('the session /clear leaves is the one the process ran last: not an earlier one of a process gone with the same id, nor one it left by /resume', async () => {
    const pid = 910_002;
    const gone = 'b0b0b0b0-0000-4000-8000-000000000000';
    const resumed = 'b1b1b1b1-0000-4000-8000-000000000001';
    const other = 'b2b2b2b2-0000-4000-8000-000000000002';
    const fresh = 'b3b3b3b3-0000-4000-8000-000000000003';
    // A process that had this id, and is gone with a task still out.
    await start(gone, pid, 'startup');
    const gonesTask = await bus.dispatch('alpha', ['of a process gone']);
    recordForClaudeSession(home, [{ id: gonesTask, title: 'of a process gone' }], env(gone, pid));
    // The process now: a session that dispatched, then `claude --resume` of another (dispatched from elsewhere), /clear.
    await start(other, pid, 'startup');
    const othersTask = await bus.dispatch('alpha', ['of the session left by /resume']);
    recordForClaudeSession(home, [{ id: othersTask, title: 'of the session left by /resume' }], env(other, pid));
    const resumedTask = await bus.dispatch('alpha', ['of the resumed session']);
    recordForClaudeSession(home, [{ id: resumedTask, title: 'of the resumed session' }], env(resumed, 910_999));
    await start(resumed, pid, 'resume');
    const r = await start(fresh, pid, 'clear');
    expect(JSON.stringify(r.output), 'the new session is told what it waits for').toContain(resumedTask);
    expect(ids(fresh)).toEqual([resumedTask]);
    expect(ids(gone)).toEqual([gonesTask]);
    expect(ids(other)).toEqual([othersTask]);
  });
});
