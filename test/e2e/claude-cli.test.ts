import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, spawnBounded, tempDir, type RunResult } from '../helpers/cli.js';
import { CLAUDE_FLAGS, CLAUDE_HIDDEN_FLAGS, PERMISSION_MODES, claudeInvocation } from '../../watcher/runners/claude-args.js';
import { interactiveArgs } from '../../watcher/runners/claude-interactive.js';
import { ClaudeStream, claudeVerdict } from '../../watcher/runners/claude-result.js';

/**
 * The real Claude Code CLI (devDependency @anthropic-ai/claude-code), for everything it does without reaching
 * the API: its help, its version, its flag checking, and its answer when it has no credentials. A release that
 * renames a flag the claude runner passes, or changes the shape of that answer, fails here.
 */
const PKG = join(ROOT, 'node_modules/@anthropic-ai/claude-code');
const BIN = join(ROOT, 'node_modules/.bin/claude');
const version = (JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8')) as { version: string }).version;

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

/** The CLI with an empty home and no credentials, so it neither reads nor writes anyone's Claude settings. */
async function claude(args: string[], input = ''): Promise<RunResult> {
  const home = await tempDir('gitbus-claude-home-');
  cleanups.push(home.cleanup);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home.path, CLAUDE_CONFIG_DIR: join(home.path, '.claude') };
  for (const k of ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_BASE_URL', 'CLAUDE_CODE_USE_BEDROCK', 'CLAUDE_CODE_USE_VERTEX']) delete env[k];
  // npm may skip the package's postinstall (which puts the native binary in place); its wrapper works either way.
  const direct = await spawnBounded(BIN, args, { cwd: home.path, env, input, timeoutMs: 60_000 }).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
  if (direct.code !== -1 && !/postinstall|placeholder/i.test(direct.stderr)) return direct;
  return spawnBounded(process.execPath, [join(PKG, 'cli-wrapper.cjs'), ...args], { cwd: home.path, env, input, timeoutMs: 60_000 });
}

describe('the real claude CLI', () => {
  it('is installed, and --version names the installed package', async () => {
    expect(existsSync(BIN), 'npm install puts node_modules/.bin/claude in place').toBe(true);
    const r = await claude(['--version']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${version} (Claude Code)`);
  });

  it('--help documents every flag the claude runner passes, and the values it passes', async () => {
    const r = await claude(['--help']);
    expect(r.code, r.stderr).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    for (const flag of CLAUDE_FLAGS) expect(help, `claude --help no longer documents ${flag}`).toMatch(new RegExp(`(^|[\\s,])${flag.replace(/[-]/g, '\\-')}([\\s,=<[]|$)`));
    const modes = /--permission-mode <mode>.*?\(choices: ([^)]*)\)/.exec(help)?.[1] ?? '';
    // 2.1.3xx documents `default` as `manual` (and still takes `default`, which older releases need).
    for (const mode of PERMISSION_MODES) expect(modes, `--permission-mode no longer accepts ${mode}`).toMatch(mode === 'default' ? /"(default|manual)"/ : new RegExp(`"${mode}"`));
    const formats = /--output-format <format>.*?\(choices: ([^)]*)\)/.exec(help)?.[1] ?? '';
    expect(formats).toContain('"stream-json"');
  });

  it('refuses an unknown option with exit 1, as the stand-in does', async () => {
    const r = await claude(['-p', '--no-such-flag'], 'hi');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: unknown option '--no-such-flag'");
  });

  it('accepts the exact command line the runner builds, and without credentials says what the runner turns into the fix', async () => {
    const inv = claudeInvocation(
      { model: 'sonnet', permissionMode: 'acceptEdits', allowedTools: ['Bash(git *)', 'Read'], maxBudgetUsd: 5 },
      { permissionMode: 'bypassPermissions', allowedTools: ['Bash', 'Read', 'Edit'], maxBudgetUsd: 0.5 },
    );
    if ('refusal' in inv) throw new Error(inv.refusal);
    expect(inv.argv).toEqual(['--print', '--output-format', 'stream-json', '--verbose', '--model', 'sonnet', '--permission-mode', 'acceptEdits', '--max-budget-usd', '0.5', '--allowedTools', 'Bash(git *)', 'Read']);
    const r = await claude(inv.argv, '## Task\n\nSay hello.\n');
    expect(r.code, r.stderr).toBe(1);
    const stream = new ClaudeStream();
    stream.push(r.stdout);
    stream.end();
    expect(stream.garbled).toBe(0);
    expect(stream.result).toMatchObject({ type: 'result', is_error: true, result: expect.stringMatching(/not logged in/i) });
    expect(typeof stream.result?.session_id).toBe('string');
    expect(typeof stream.result?.total_cost_usd).toBe('number');
    expect(typeof stream.result?.num_turns).toBe('number');
    const verdict = claudeVerdict(stream, r.code, 'gpu-box');
    expect(verdict.status).toBe('failed');
    expect(verdict.reason).toContain('not logged in on node gpu-box');
    expect(verdict.reason).toContain('ANTHROPIC_API_KEY');
    expect(verdict.claude.sessionId).toBe(stream.result?.session_id);
  });

  it('takes --session-id with a UUID, and the permission mode "default" the runner passes by that name', async () => {
    const r = await claude(['--print', '--output-format', 'json', '--permission-mode', 'default', '--session-id', '6f1f7b1e-3c6a-4d3e-9c1a-2b4c5d6e7f80'], 'hi');
    expect(r.stderr).not.toMatch(/unknown option|invalid/i);
    expect(JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}')).toMatchObject({ type: 'result', session_id: '6f1f7b1e-3c6a-4d3e-9c1a-2b4c5d6e7f80' });
    const bad = await claude(['--print', '--output-format', 'json', '--session-id', 'not-a-uuid'], 'hi');
    expect(bad.code).not.toBe(0);
  });

  it('takes --max-turns, which --help does not list (an unknown flag is refused, so this is not silence)', async () => {
    const help = (await claude(['--help'])).stdout;
    for (const flag of CLAUDE_HIDDEN_FLAGS) {
      expect(help, `${flag} is documented now: move it to CLAUDE_FLAGS`).not.toContain(flag);
      const r = await claude(['--print', '--output-format', 'stream-json', '--verbose', flag, '2'], 'hi');
      expect(r.stderr).not.toMatch(/unknown option/i);
      expect(r.stdout).toContain('"type":"result"');
    }
    expect((await claude(['--print', '--max-turnz', '2'], 'hi')).stderr).toContain("unknown option '--max-turnz'");
  });

  it('accepts the interactive command line the runner builds: the prompt first, --session-id and a status line in --settings', async () => {
    const inv = claudeInvocation({ model: 'sonnet', maxBudgetUsd: 1, maxTurns: 3, allowedTools: ['Read'] }, {}, '6f1f7b1e-3c6a-4d3e-9c1a-2b4c5d6e7f81');
    if ('refusal' in inv) throw new Error(inv.refusal);
    const { args, budgetUsd } = interactiveArgs(inv.argv, 'sh /nonexistent/statusline.sh');
    expect(budgetUsd).toBe(1);
    expect(args).not.toContain('--max-budget-usd');
    // Without a terminal the CLI answers as with -p: enough to show it takes every flag, without credentials.
    const r = await claude(['Say hello.', ...args]);
    expect(r.stderr).not.toMatch(/unknown option|invalid|error:/i);
    expect(r.stdout + r.stderr).toMatch(/not logged in/i);
  });

  it('without --verbose refuses stream-json in print mode (why the runner passes it)', async () => {
    const r = await claude(['--print', '--output-format', 'stream-json'], 'hi');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('requires --verbose');
  });

  it('resuming a session this node does not have fails with words the runner explains', async () => {
    const r = await claude(['--print', '--output-format', 'stream-json', '--verbose', '--resume', '11111111-2222-3333-4444-555555555555'], 'again');
    expect(r.code).toBe(1);
    const stream = new ClaudeStream();
    stream.push(r.stdout);
    stream.end();
    // The runner sends stderr to the log; the verdict reads it from the log's tail.
    expect(claudeVerdict(stream, r.code, 'gpu-box', r.stdout + r.stderr).reason).toContain('no session to resume on node gpu-box');
  });
});
