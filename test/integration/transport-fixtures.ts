/**
 * Shared setup for the transport-*.test.ts files: temp dirs, the git CLI with a fixed identity, and commits made
 * the way gitbus makes them (isomorphic-git writeBlob/writeTree/writeCommit into a bare-style gitdir).
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import git from 'isomorphic-git';

export const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  // Keep the user's ~/.gitconfig (protocol.version, init templates, hooks paths) out of the tests.
  HOME: tmpdir(),
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/** Temp dirs made by one test file; call `cleanup()` in afterEach. */
export class TempDirs {
  private dirs: string[] = [];
  async make(prefix = 'gitbus-transport-'): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(d);
    return d;
  }
  async cleanup(): Promise<void> {
    const dirs = this.dirs;
    this.dirs = [];
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

/** Run git synchronously (bounded) and return trimmed stdout. */
export function gitSync(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', timeout: 30_000, input, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

/** Run git asynchronously (bounded); resolves with exit code and output instead of rejecting. */
export function gitAsync(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `git ls-remote <path>` as a map, without peeled `^{}` lines. */
export function lsRemote(path: string): Map<string, string> {
  const out = gitSync(tmpdir(), ['ls-remote', path]);
  const map = new Map<string, string>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [oid, name] = line.split('\t');
    if (oid && name && !name.endsWith('^{}')) map.set(name, oid);
  }
  return map;
}

/** A working clone of `remote` made with the git CLI, for playing "another machine". */
export async function cliClone(dirs: TempDirs, remote: string): Promise<string> {
  const work = join(await dirs.make('gitbus-work-'), 'w');
  gitSync(tmpdir(), ['clone', '--quiet', remote, work]);
  gitSync(work, ['checkout', '--quiet', '-B', 'main']);
  return work;
}

/** Commit files in a CLI work tree; returns the new HEAD. */
export function cliCommit(work: string, files: Record<string, string>, message = 'change'): string {
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(join(work, name, '..'), { recursive: true });
    fs.writeFileSync(join(work, name), content);
  }
  gitSync(work, ['add', '-A']);
  gitSync(work, ['commit', '--quiet', '--allow-empty', '-m', message]);
  return gitSync(work, ['rev-parse', 'HEAD']);
}

export interface BuiltCommit {
  oid: string;
  /** The objects this commit added: what pushRef needs. */
  newOids: string[];
}

/**
 * A commit on top of `parent` in a bare-style gitdir, made like gitbus makes them: new blobs for `files` in the
 * root tree (flat names only), the parent's other entries kept.
 */
export async function isoCommit(
  gitdir: string,
  parent: string | null,
  files: Record<string, string>,
  message = 'gitbus change',
): Promise<BuiltCommit> {
  const newOids: string[] = [];
  const entries = new Map<string, { mode: string; path: string; oid: string; type: 'blob' | 'tree' | 'commit' }>();
  if (parent) {
    const { tree } = await git.readTree({ fs, gitdir, oid: parent });
    for (const e of tree) entries.set(e.path, e);
  }
  for (const [path, content] of Object.entries(files)) {
    const oid = await git.writeBlob({ fs, gitdir, blob: new TextEncoder().encode(content) });
    newOids.push(oid);
    entries.set(path, { mode: '100644', path, oid, type: 'blob' });
  }
  const tree = await git.writeTree({ fs, gitdir, tree: [...entries.values()] });
  newOids.push(tree);
  const who = { name: 'gitbus test', email: 'test@gitbus', timestamp: 1_800_000_000, timezoneOffset: 0 };
  const oid = await git.writeCommit({
    fs,
    gitdir,
    commit: { message: `${message}\n`, tree, parent: parent ? [parent] : [], author: who, committer: who },
  });
  newOids.push(oid);
  return { oid, newOids: [...new Set(newOids)] };
}

/** A fresh bare-style gitdir as gitbus nodes have them. */
export async function isoInit(dirs: TempDirs): Promise<string> {
  const gitdir = join(await dirs.make('gitbus-node-'), 'clone.git');
  await git.init({ fs, gitdir, bare: true, defaultBranch: 'main' });
  return gitdir;
}

/**
 * isomorphic-git's fetch insists on a `remote.<name>.fetch` refspec in the config even when given `url`
 * (NoRefspecError otherwise), so callers of fetch/clone through the plugin add the remote first.
 */
export async function isoInitWithRemote(dirs: TempDirs, url: string): Promise<string> {
  const gitdir = await isoInit(dirs);
  await git.addRemote({ fs, gitdir, remote: 'origin', url });
  return gitdir;
}

/** Files directly under objects/pack. */
export function packFiles(gitdir: string): string[] {
  try {
    return fs.readdirSync(join(gitdir, 'objects', 'pack')).sort();
  } catch {
    return [];
  }
}

/**
 * Plain-JS copies of bus/git and bus/transport, with every module they import (followed from their relative imports,
 * so that a new import is copied too), in a temp dir, so that child `node` processes can run the real pushRef
 * (vitest transforms TS only inside its own process).
 */
export async function transpileTransportForChildren(dirs: TempDirs): Promise<string> {
  const ts = (await import('typescript')).default;
  const root = join(import.meta.dirname, '..', '..');
  const out = await dirs.make('gitbus-js-');
  const sources = new Set(['bus/git', 'bus/transport'].flatMap((d) => fs.readdirSync(join(root, d)).filter((f) => f.endsWith('.ts')).map((f) => `${d}/${f}`)));
  for (const rel of sources) {
    // A Set grows while it is walked: each module's imports are visited in turn. `import type` is erased, so not followed.
    const text = fs.readFileSync(join(root, rel), 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?\s+from\s+'(\.{1,2}\/[^']+)\.js';/gm)) sources.add(posix.join(posix.dirname(rel), `${m[1]}.ts`));
  }
  for (const rel of sources) {
    const js = ts.transpileModule(fs.readFileSync(join(root, rel), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    fs.mkdirSync(join(out, rel, '..'), { recursive: true });
    fs.writeFileSync(join(out, rel.replace(/\.ts$/, '.js')), js);
  }
  fs.writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  fs.symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
  return out;
}
