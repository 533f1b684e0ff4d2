import { readFileSync, writeFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { parse, stringify } from 'yaml';
import { expect } from 'vitest';
import { gitbus, gitCli, json, type RunResult } from './cli.js';
import { showInProcess } from './in-process.js';
import { parseBusFile } from '../../schemas/bus-file.js';
import type { Handoff } from '../../schemas/handoff.js';

/**
 * A project repository for project-work tests: a bare remote (`remote`) with `main` holding a few files, and a
 * person's checkout of it (`checkout`) with an ignored `.env`.
 */
export function makeProject(dir: string, name = 'proj'): { remote: string; checkout: string; main: () => string } {
  const remote = join(dir, `${name}.git`);
  const checkout = join(dir, `${name}-checkout`);
  gitCli(['init', '-q', '--bare', '--initial-branch=main', remote]);
  gitCli(['init', '-q', '--initial-branch=main', checkout]);
  writeFileSync(join(checkout, 'README.md'), `# ${name}\n`);
  writeFileSync(join(checkout, 'app.txt'), 'line 1\nline 2\nline 3\n');
  writeFileSync(join(checkout, '.gitignore'), '.env\n.setup-ran\n');
  writeFileSync(join(checkout, '.env'), 'SECRET=from-the-checkout\n');
  gitCli(['add', '.'], checkout);
  gitCli(['commit', '-q', '-m', 'first'], checkout);
  gitCli(['remote', 'add', 'origin', remote], checkout);
  gitCli(['push', '-q', 'origin', 'main'], checkout);
  return { remote, checkout, main: () => gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim() };
}

/** Edits a node's node.yaml as a person would. */
export function editNode(home: string, change: (c: Record<string, unknown>) => Record<string, unknown>): void {
  const path = join(home, 'node.yaml');
  writeFileSync(path, stringify(change(parse(readFileSync(path, 'utf8')) as Record<string, unknown>)));
}

/** Pushes handoff files written by hand (`frontmatter` + `body`) to the bus in one plain-git commit, from a person's clone. */
export function pushHandoffs(person: string, busRemote: string, handoffs: { id: string; frontmatter: Record<string, unknown>; body?: string }[]): void {
  try {
    gitCli(['rev-parse', '--git-dir'], person);
  } catch {
    gitCli(['clone', '-q', busRemote, person]);
  }
  gitCli(['pull', '-q', '--rebase', 'origin', 'main'], person);
  mkdirSync(join(person, 'handoffs'), { recursive: true });
  for (const h of handoffs) writeFileSync(join(person, 'handoffs', `${h.id}.md`), `---\n${stringify({ title: h.id, ...h.frontmatter })}---\n${h.body ?? ''}`);
  gitCli(['add', 'handoffs'], person);
  gitCli(['commit', '-q', '-m', `dispatch ${handoffs.map((h) => h.id).join(' ')}`], person);
  gitCli(['push', '-q', 'origin', 'HEAD:main'], person);
}

/** The files of a branch on the project remote, or null when it has no such branch. */
export function branchFiles(remote: string, branch: string): string[] | null {
  const r = spawnSync('git', ['--git-dir', remote, 'ls-tree', '-r', '--name-only', `refs/heads/${branch}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean) : null;
}

export function showFile(remote: string, branch: string, path: string): string {
  return gitCli(['--git-dir', remote, 'show', `refs/heads/${branch}:${path}`]);
}

/**
 * `gitbus fanout` of the plan `text`, written as `<dir>/specs/<name>.md` (the group is the file's name), run by `home`
 * in the project's `checkout` with --force; fails the test unless it succeeds, and returns its JSON.
 */
export async function fanOutPlan<T>(home: string, dir: string, checkout: string, name: string, text: string): Promise<T> {
  mkdirSync(join(dir, 'specs'), { recursive: true });
  const plan = join(dir, 'specs', `${name}.md`);
  writeFileSync(plan, text);
  const r = await gitbus(['fanout', plan, '--force', '--json'], { home, cwd: checkout });
  if (r.code !== 0) throw new Error(`fanout failed (exit ${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/**
 * A person's branches `names` pushed to the project `remote` with a history of their own, without main's commit (a
 * clone in a new `dir/person-apart-*`, returned): results built on the task's base cannot be a fast-forward of them.
 */
export function pushApartBranches(dir: string, remote: string, names: string[]): string {
  // A folder of its own each time: a test file may push apart branches more than once.
  const theirs = mkdtempSync(join(dir, 'person-apart-'));
  gitCli(['clone', '-q', remote, theirs]);
  gitCli(['checkout', '-q', '--orphan', 'apart'], theirs);
  writeFileSync(join(theirs, 'theirs.txt'), 'theirs\n');
  gitCli(['add', '.'], theirs);
  gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-q', '-m', 'their own start'], theirs);
  gitCli(['push', '-q', 'origin', ...names.map((n) => `HEAD:refs/heads/${n}`)], theirs);
  return theirs;
}

/** A plan of two workstreams that both write README.md, so that merging them conflicts (resolve's tests, on node box1). */
export const README_CLASH_PLAN = `---
title: Both edit the README
runner: shell
to: box1
workstreams:
  - name: left
    tasks: The left part.
    command: "echo left > README.md"
  - name: right
    tasks: The right part.
    command: "echo right > README.md"
---
Two parts that clash.
`;

/** What `gitbus fanout --json` says of the group it made. */
export type FannedGroup = { integration: string; tasks: { id: string; workstream: string | null; branch: string }[] };

/** `watch --once` in `home` (a worker's) until a run finds nothing to do, at most four times; fails on any other exit. */
export async function workUntilIdle(home: string, env?: NodeJS.ProcessEnv): Promise<void> {
  for (let round = 0; round < 4; round++) {
    const r = await gitbus(['watch', '--once', '--json'], { home, ...(env ? { env } : {}), timeoutMs: 120_000, process: true });
    if (r.code !== 0) throw new Error(`watch --once exited ${r.code}: ${r.stderr}`);
    if ((JSON.parse(r.stdout) as { ran: unknown[] }).ran.length === 0) return;
  }
}

/** The frontmatter of task `id`'s response, as `gitbus show --json` in `home` gives it; fails when it has none. */
export async function responseOf(home: string, id: string): Promise<Record<string, unknown>> {
  const r = await gitbus(['show', id, '--json'], { home });
  const shown = JSON.parse(r.stdout) as { state: string; files: { path: string; text: string }[] };
  const file = shown.files.find((f) => f.path.startsWith('responses/'));
  if (!file) throw new Error(`${id} has no response (state ${shown.state})`);
  return parse(file.text.split('---\n')[1] ?? '') as Record<string, unknown>;
}

/**
 * A git in front of the real one on PATH, noting each command line it runs (in `dir/git-shim-*`): for a gitbus run in
 * a process of its own (`gitbus(..., { process: true, env: shim.env })`). `calls()` gives the lines noted so far,
 * without the settings every gitbus git run starts with (bus/project/git.ts SAFE_CONFIG); `reset()` forgets them.
 * `fail`: a command line containing `when` prints `stderr` and exits `code` (128) instead, as git does when the remote
 * is away.
 */
export function gitShim(dir: string, fail?: { when: string; stderr: string; code?: number }): { env: NodeJS.ProcessEnv; calls: () => string[]; reset: () => void } {
  const shim = mkdtempSync(join(dir, 'git-shim-'));
  const log = join(shim, 'calls.log');
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  if (fail) writeFileSync(join(shim, 'stderr'), `${fail.stderr}\n`);
  const failing = fail ? `case "$*" in *'${fail.when.replace(/'/g, `'\\''`)}'*) cat '${join(shim, 'stderr')}' >&2; exit ${fail.code ?? 128};; esac\n` : '';
  writeFileSync(join(shim, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n${failing}exec '${realGit}' "$@"\n`, { mode: 0o755 });
  writeFileSync(log, '');
  return {
    env: { PATH: `${shim}:${process.env['PATH'] ?? ''}` },
    calls: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.replace(/^(-c \S+ )+/, '')),
    reset: () => writeFileSync(log, ''),
  };
}

/** The handoff a `gitbus dispatch --json` (`r`) from `home` wrote, parsed; the dispatch must have succeeded. */
export async function dispatchedHandoff(home: string, r: RunResult): Promise<Handoff> {
  const file = await dispatchedFile(home, r);
  const parsed = parseBusFile(file.path, file.text);
  if (!parsed.ok) throw new Error(`the handoff does not parse: ${JSON.stringify(parsed.problems)}`);
  return parsed.file.data as Handoff;
}

/** The handoff file that dispatch wrote, read back in the test's process (test/helpers/in-process.ts). */
export async function dispatchedFile(home: string, r: RunResult): Promise<{ path: string; text: string }> {
  expect(r.code, r.stderr + r.stdout).toBe(0);
  const id = json<{ id: string }>(r).id;
  const shown = await showInProcess<{ files: { path: string; text: string }[] }>(home, id);
  return shown.files.find((f) => f.path === `handoffs/${id}.md`) ?? { path: `handoffs/${id}.md`, text: '' };
}
