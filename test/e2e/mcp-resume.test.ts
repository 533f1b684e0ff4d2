import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { ROOT, gitbus, json, neutralCwd, tempDir } from '../helpers/cli.js';
import { makeProject } from '../helpers/project.js';
import { mcpSession, type Json } from '../helpers/mcp-session.js';

/**
 * The MCP dispatch tool's `resume`, driven by the MCP SDK's client, says what `gitbus dispatch --resume --json`
 * says: the task it continues, the node that holds the session, the session, and the resumed task's project. Node
 * beta runs claude tasks with the stand-in (test/fixtures/claude-standin.mjs), which keeps real sessions.
 */
const { bus, ok, cleanups } = mcpSession({
  watcher: true,
  betaRunners: ['shell', 'claude'],
  watcherEnv: (dir) => ({ GITBUS_CLAUDE_BIN: join(ROOT, 'test/fixtures/claude-standin.mjs'), CLAUDE_STANDIN_SESSIONS: join(dir, 'sessions') }),
});

type Resumed = { id: string; resumes: string; node: string; session: string; project: Json };

describe('the MCP dispatch tool with resume', () => {
  it('returns resumes, node, session and the resumed project, as dispatch --resume --json does', async () => {
    const dir = await tempDir('gitbus-mcp-resume-');
    cleanups.push(dir.cleanup);
    const p = makeProject(dir.path);
    const first = await ok<{ id: string }>('dispatch', { title: 'start', to: 'beta', runner: 'claude', repo: p.remote, base: 'main', branch: 'agent/mcp', body: 'Start.\n@write one.txt one\n@commit step one\n' });
    expect(await ok<Json>('wait', { id: first.id, timeout: '40s' })).toMatchObject({ ended: true, state: 'succeeded', node: 'beta' });

    const r = await ok<Resumed>('dispatch', { title: 'go on', resume: first.id, body: 'continue' });
    expect(r).toMatchObject({ resumes: first.id, node: 'beta', session: expect.stringMatching(/\S/), project: { repo: p.remote, base: 'main', baseCommit: p.main(), branch: 'agent/mcp' } });

    const cli = await gitbus(['dispatch', 'go on again', '--resume', first.id, '--no-git', '--json'], { home: bus().home('alpha'), cwd: neutralCwd() });
    expect(cli.code, cli.stderr).toBe(0);
    const viaCli = json<Resumed>(cli);
    expect({ resumes: r.resumes, node: r.node, session: r.session, project: r.project }).toEqual({ resumes: viaCli.resumes, node: viaCli.node, session: viaCli.session, project: viaCli.project });
  }, 90_000);
});
