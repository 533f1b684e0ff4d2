import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { parse, stringify } from 'yaml';
import { gitbus, gitCli, json, type RunResult } from './cli.js';
import { makeBus } from './bus.js';

/**
 * The fixture of the environment sync tests (issue 12; test/e2e/env-sync-*.test.ts): a bus on a real bare remote
 * with nodes a and b, each with a bus home and a fake HOME of its own, and the CLI (test/helpers/cli.ts). Each file starts
 * its own fleet and seeds only the files its tests use (the suite is CPU-bound: a file pays for what it builds).
 */
export type Node = 'a' | 'b';
export type EnvBus = Awaited<ReturnType<typeof makeBus>>;
type FileRow = { target: string; state: string; action: string };

/** a's settings.json: hooks and a model the profile manages, and a marketplace naming a folder of machine a. */
export const SETTINGS_A = { model: 'opus', hooks: { Stop: [{ hooks: [{ type: 'command', command: 'echo done' }] }] }, extraKnownMarketplaces: { gitbus: { source: { source: 'directory', path: '/opt/a/plugin' } } } };

export function envFleet() {
  let current: EnvBus | undefined;
  const bus = (): EnvBus => {
    if (!current) throw new Error('envFleet: start() the fleet in beforeAll first');
    return current;
  };
  const children: ChildProcess[] = [];
  let handEdits = 0;

  const fakeHome = (n: Node) => join(bus().dir, `HOME-${n}`);
  /** What every process sees: its fake HOME, and no system git config (a signing key of the machine must not leak in). */
  const envOf = (n: Node) => ({ HOME: fakeHome(n), GIT_CONFIG_NOSYSTEM: '1' });
  const cli = (n: Node, args: string[]): Promise<RunResult> => gitbus([...args, '--json'], { home: bus().home(n), env: envOf(n) });
  const envCmd = (n: Node, args: string[]) => cli(n, ['env', ...args]);
  const put = (n: Node, rel: string, text: string) => {
    const p = join(fakeHome(n), rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  };
  const read = (n: Node, rel: string) => readFileSync(join(fakeHome(n), rel), 'utf8');
  const onBus = (path: string): string | null => {
    try {
      return gitCli(['show', `main:${path}`], bus().remote);
    } catch {
      return null;
    }
  };
  const busFiles = () => gitCli(['ls-tree', '-r', '--name-only', 'main'], bus().remote).split('\n').filter((p) => p.startsWith('env/'));
  function editNode(n: Node, change: (c: Record<string, unknown>) => void): void {
    const path = join(bus().home(n), 'node.yaml');
    const c = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    change(c);
    writeFileSync(path, stringify(c));
  }
  /** Someone with push access ("mallory") changes the bus with plain git: a fresh clone, `change`, one commit pushed. */
  function byHand(change: (work: string) => void): void {
    const work = join(bus().dir, `by-hand-${++handEdits}`);
    gitCli(['clone', '-q', bus().remote, work]);
    change(work);
    gitCli(['add', '-A'], work);
    gitCli(['-c', 'user.name=m', '-c', 'user.email=m@x', 'commit', '-qm', 'by hand'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
  }
  /** Adds an entry (and its file, with the right SHA-256) to a profile's manifest, as a person would by hand. */
  function plantEntry(work: string, profile: string, entry: Record<string, unknown>, file?: { source: string; text: string; executable?: boolean }): void {
    const path = join(work, 'env', profile, 'manifest.yaml');
    const m = parse(readFileSync(path, 'utf8')) as { entries: unknown[]; files: Record<string, unknown> };
    m.entries.push(entry);
    if (file) {
      const p = join(work, 'env', profile, 'files', file.source);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, file.text);
      m.files[file.source] = { sha256: createHash('sha256').update(file.text).digest('hex'), size: Buffer.byteLength(file.text), ...(file.executable ? { executable: true } : {}) };
    }
    writeFileSync(path, stringify(m));
  }
  async function states(n: Node, profile = 'claude'): Promise<Record<string, string>> {
    const r = await envCmd(n, ['status', profile]);
    expect(r.code, r.stderr).toBe(0);
    const p = json<{ profiles: { files: FileRow[]; problem: string | null }[] }>(r).profiles[0];
    return Object.fromEntries((p?.files ?? []).map((f) => [f.target, f.state]));
  }
  const ok = (r: RunResult) => expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
  const errorOf = (r: RunResult) => json<{ error: { code: string; message: string; fix: string } }>(r).error;

  /** Claude Code and shell setup of machine a, and b's own settings.json (what the sync must merge into). */
  function seedHomes(): void {
    put('a', '.claude/CLAUDE.md', '# house rules\nbe brief\n');
    put('a', '.claude/commands/review.md', 'review the diff\n');
    put('a', '.claude/settings.json', `${JSON.stringify(SETTINGS_A, null, 2)}\n`);
    put('a', '.claude/settings.local.json', '{"permissions":{"allow":["Bash(rm:*)"]}}\n');
    put('a', '.claude/projects/x/session.jsonl', '{}\n');
    put('a', '.gitconfig', '[user]\n\tname = a\n');
    put('b', '.claude/settings.json', `${JSON.stringify({ permissions: { allow: ['Bash(make:*)'] }, model: 'sonnet' }, null, 2)}\n`);
  }

  return {
    /** The bus, a first node "a" and a joined node "b" (in this process: test/helpers/bus.ts). */
    async start(): Promise<EnvBus> {
      current = await makeBus({ node: 'a' });
      await current.addNode('b');
      // A node's HOME exists, as a user's does: gitbus env refuses one that does not (ENV_HOME_MISSING).
      for (const n of ['a', 'b'] as const) mkdirSync(fakeHome(n));
      return current;
    },
    async stop(): Promise<void> {
      for (const c of children) c.kill('SIGKILL');
      await current?.cleanup();
    },
    children,
    fakeHome,
    envOf,
    cli,
    envCmd,
    put,
    read,
    onBus,
    busFiles,
    editNode,
    byHand,
    plantEntry,
    states,
    ok,
    errorOf,
    seedHomes,
  };
}
