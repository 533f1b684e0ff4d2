import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gitbus, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { git as personGit, gitOk as personGitOk } from '../helpers/person-git.js';
import { makeKeys } from '../helpers/ssh-keys.js';

/**
 * A handoff written by hand without `created` on a bus whose trust root bounds the age of signed handoffs
 * (maxHandoffAge, docs/PROTOCOL.md §12 "Replay"): every node that enforces the root refuses it as stale, so `gitbus
 * sign` refuses to sign it, `gitbus lint` and the pre-commit hook fail on it at once, and the node's own refusal says
 * to add `created` and sign again. Real ssh-keygen keys, a real bus, a person's clone with the hooks installed.
 */

const NO_AGENT = { SSH_AUTH_SOCK: '' };
const git = (args: string[], cwd: string) => personGit(args, cwd, NO_AGENT);
const gitOk = (args: string[], cwd: string) => personGitOk(args, cwd, NO_AGENT);
const UNDATED = '20261208-090000-undated';
const FORCED = '20261208-090001-forced';
const LATER = '20261208-090002-later';
const handoff = (created?: string) => `---\ntitle: By hand\nto: alpha\ncommand: "true"\n${created ? `created: ${created}\n` : ''}---\n## Task\n\nRun it.\n`;

interface ErrorJson {
  error: { code: string; message: string; fix: string };
}

describe('a handoff without created on a bus whose trust root bounds handoff age', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let work: string;
  let alpha: string;
  const key = () => join(bus.dir, 'keys', 'alice');

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell'] });
    alpha = bus.home('alpha');
    makeKeys(join(bus.dir, 'keys'), ['alice']);
    const init = await gitbus(['trust', 'init', '--admin', `alice=${key()}.pub`, '--key', key()], { home: alpha });
    expect(init.code, init.stderr).toBe(0);
    work = join(bus.dir, 'person');
    await gitOk(['clone', '-q', '-b', 'main', bus.remote, work], bus.dir);
    const hooks = await gitbus(['hooks', 'install'], { cwd: work });
    expect(hooks.code, hooks.stderr).toBe(0);
    await mkdir(join(work, 'handoffs'), { recursive: true });
    writeFileSync(join(work, 'handoffs', `${UNDATED}.md`), handoff());
  }, 60_000);
  afterAll(async () => bus?.cleanup());

  it('gitbus sign refuses to sign it, saying to add created (with its format) and sign again', async () => {
    const r = await gitbus(['sign', `handoffs/${UNDATED}.md`, '--key', key(), '--json'], { cwd: work, env: NO_AGENT });
    expect(r.code, r.stdout).toBe(8);
    const e = json<ErrorJson>(r).error;
    expect(e.code).toBe('HANDOFF_UNDATED');
    expect(e.message).toContain(`handoffs/${UNDATED}.md has no created`);
    expect(e.message).toContain('maxHandoffAge 30d');
    expect(e.fix).toMatch(/add "created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"/);
    expect(e.fix).toContain(`gitbus sign handoffs/${UNDATED}.md`);
    expect(existsSync(join(work, 'signatures', 'handoffs', `${UNDATED}.md.sig`))).toBe(false);
  });

  it('gitbus lint of the file and of the checkout fails on it, naming the field and the fix', async () => {
    for (const target of [`handoffs/${UNDATED}.md`, '.']) {
      const r = await gitbus(['lint', target, '--json'], { cwd: work });
      expect(r.code, r.stdout).toBe(8);
      const p = json<{ problems: { path: string; field: string; reason: string; fix: string; severity: string }[] }>(r).problems.find((x) => x.field === 'created');
      expect(p).toMatchObject({ path: `handoffs/${UNDATED}.md`, severity: 'error' });
      expect(p?.reason).toContain('a node that enforces the trust root refuses it as stale');
      expect(p?.fix).toContain('created: ');
    }
  });

  it('the pre-commit hook refuses to commit it', async () => {
    await gitOk(['add', `handoffs/${UNDATED}.md`], work);
    const c = await git(['commit', '-m', 'an undated handoff'], work);
    expect(c.code).not.toBe(0);
    expect(c.out).toContain(`error: handoffs/${UNDATED}.md (created): no created`);
  });

  it('once dated it signs, and the hook lets it through', async () => {
    writeFileSync(join(work, 'handoffs', `${UNDATED}.md`), handoff(new Date().toISOString()));
    const r = await gitbus(['sign', `handoffs/${UNDATED}.md`, '--key', key(), '--json'], { cwd: work, env: NO_AGENT });
    expect(r.code, r.stderr).toBe(0);
    await gitOk(['add', `handoffs/${UNDATED}.md`, `signatures/handoffs/${UNDATED}.md.sig`], work);
    const c = await git(['commit', '-m', 'a dated handoff'], work);
    expect(c.code, c.out).toBe(0);
  });

  it('a node refuses one signed without gitbus sign as stale, with the fix to add created and sign again', async () => {
    const path = `handoffs/${FORCED}.md`;
    writeFileSync(join(work, path), handoff());
    const message = join(bus.dir, 'message');
    writeFileSync(message, Buffer.concat([Buffer.from(`gitbus handoff v1\n${path}\n`), readFileSync(join(work, path))]));
    execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-n', 'gitbus-handoff@v1', '-f', key(), message]);
    await mkdir(join(work, 'signatures', 'handoffs'), { recursive: true });
    writeFileSync(join(work, 'signatures', `${path}.sig`), readFileSync(`${message}.sig`));
    await gitOk(['add', path, `signatures/${path}.sig`], work);
    await gitOk(['commit', '--no-verify', '-q', '-m', 'skip the hook'], work);
    await gitOk(['pull', '-q', '--rebase', 'origin', 'main'], work);
    await gitOk(['push', '-q', 'origin', 'HEAD:main'], work);
    const r = await gitbus(['show', FORCED, '--json'], { home: alpha });
    expect(r.code, r.stderr).toBe(0);
    const t = json<{ trust: { trusted: boolean; reason: string; fix: string } }>(r).trust;
    expect(t.trusted).toBe(false);
    expect(t.reason).toContain(`stale: ${path} has no created`);
    expect(t.fix).toMatch(/created: \d{4}-\d\d-\d\dT/);
    expect(t.fix).toContain('gitbus sign');
    expect(t.fix).not.toContain('raise maxHandoffAge');
  });

  it('on a bus whose trust root sets no maxHandoffAge, an undated handoff signs as before', async () => {
    const none = await gitbus(['trust', 'max-handoff-age', 'none', '--key', key()], { home: alpha });
    expect(none.code, none.stderr).toBe(0);
    await gitOk(['pull', '-q', '--rebase', 'origin', 'main'], work);
    writeFileSync(join(work, 'handoffs', `${LATER}.md`), handoff());
    const r = await gitbus(['sign', `handoffs/${LATER}.md`, '--key', key()], { cwd: work, env: NO_AGENT });
    expect(r.code, r.stderr).toBe(0);
    const lint = await gitbus(['lint', `handoffs/${LATER}.md`], { cwd: work });
    expect(lint.code, lint.stdout).toBe(0);
  });
});
