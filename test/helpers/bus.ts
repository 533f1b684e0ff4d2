import { join } from 'node:path';
import type { JoinOptions } from '../../bus/ops/join.js';
import { gitCli, gitbus, json, tempDir } from './cli.js';
import { dispatchInProcess, initNode, joinNode, type InitNodeOptions } from './in-process.js';

/**
 * A bus on a local bare remote with a first node; more nodes join with `addNode`.
 *
 * The bus is the tests' fixture, not their subject: init and join run in the test's own process, through the same
 * functions the CLI's `init` and `join` call (bus/ops/init.ts, join.ts), whenever the flags given are ones those
 * functions take as they are. A CLI process costs ~0.3-0.7 s of CPU on a loaded machine, and the e2e suite made
 * some 600 of them only to set up its buses (docs/PERFORMANCE.md "The test suite"). Flags with more to them (a
 * trust pin, which the CLI follows with the node's own key) still go through the CLI, and the CLI's own init and
 * join are tested as commands elsewhere (cli-lifecycle, foreign-remotes, ssh-remote, https-remote, ...).
 *
 * They come from the build (dist/, which e2e tests run anyway), imported by Node itself (vitest.config.ts
 * externalizes dist/): through vitest's transform the bus layer's sources cost a test file more CPU than the
 * processes saved.
 */
export async function makeBus(opts: { node?: string; labels?: string[]; initArgs?: string[] } = {}) {
  const dir = await tempDir('gitbus-bus-');
  const remote = join(dir.path, 'remote.git');
  const home = (name: string) => join(dir.path, `home-${name}`);
  const first = opts.node ?? 'alpha';
  const labels = opts.labels ?? [];
  const initArgs = opts.initArgs ?? [];
  const initOpts = fixtureOptions(initArgs, INIT_FLAGS);
  if (initOpts) await initNode(home(first), remote, { ...initOpts, node: first, labels: [...labels, ...(initOpts.labels ?? [])] } as InitNodeOptions);
  else {
    const r = await gitbus(['init', '--remote', remote, '--node', first, ...labels.flatMap((l) => ['--label', l]), ...initArgs, '--json'], { home: home(first) });
    if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`);
  }
  return {
    dir: dir.path,
    remote,
    home,
    first,
    async addNode(name: string, nodeLabels: string[] = [], extra: string[] = []) {
      const joinOpts = fixtureOptions(extra, JOIN_FLAGS);
      if (joinOpts) {
        // joinNode's trust {}: what the CLI does without --trust when no terminal can ask (a bus with a trust root refuses).
        await joinNode(home(name), remote, { ...joinOpts, node: name, labels: [...nodeLabels, ...(joinOpts.labels ?? [])] } as JoinOptions);
        return home(name);
      }
      const j = await gitbus(['join', remote, '--node', name, ...nodeLabels.flatMap((l) => ['--label', l]), ...extra, '--json'], { home: home(name) });
      if (j.code !== 0) throw new Error(`join ${name} failed: ${j.stderr}`);
      return home(name);
    },
    /** `gitbus dispatch ARGS --no-git` by `node`: in this process when its flags allow (test/helpers/in-process.ts). */
    async dispatch(node: string, args: string[]) {
      const id = await dispatchInProcess(home(node), args).catch(failed('dispatch'));
      if (id !== null) return id;
      const d = await gitbus(['dispatch', ...args, '--json', '--no-git'], { home: home(node) });
      if (d.code !== 0) throw new Error(`dispatch failed: ${d.stderr}`);
      return json<{ id: string }>(d).id;
    },
    cleanup: dir.cleanup,
  };
}

/** What each CLI flag of the fixture's init and join is in the options of initBus and joinBus. */
type FlagKind = 'string' | 'int' | 'list';
const JOIN_FLAGS: Record<string, [key: string, kind: FlagKind]> = { '--label': ['labels', 'list'], '--runner': ['runners', 'list'], '--parallel': ['parallel', 'int'] };
const INIT_FLAGS: Record<string, [key: string, kind: FlagKind]> = {
  ...JOIN_FLAGS,
  '--lease': ['lease', 'string'],
  '--heartbeat': ['heartbeat', 'string'],
  '--poll': ['poll', 'string'],
  '--max-attempts': ['maxAttempts', 'int'],
  '--name': ['name', 'string'],
};

/**
 * The options for initBus/joinBus that these CLI flags mean, or null when one of them is not a plain value flag
 * (then the CLI runs). Values are passed unchecked: the functions check them as the CLI's parsers would, and a
 * fixture with a bad value fails either way.
 */
function fixtureOptions(args: string[], flags: Record<string, [string, FlagKind]>): Record<string, unknown> & { labels?: string[] } | null {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i += 2) {
    const flag = flags[args[i] ?? ''];
    const value = args[i + 1];
    if (!flag || value === undefined) return null;
    const [key, kind] = flag;
    if (kind === 'list') out[key] = [...((out[key] as string[] | undefined) ?? []), value];
    else if (kind === 'int') {
      if (!/^\d+$/.test(value)) return null;
      out[key] = Number(value);
    } else out[key] = value;
  }
  return out;
}

function failed(what: string): (err: unknown) => never {
  return (err) => {
    throw new Error(`${what} failed: ${(err as Error).message}`);
  };
}

/**
 * Pushes handoffs written as plain files in one plain-git commit (as a person with an editor would): fast, and
 * it exercises handoffs gitbus did not write. Returns the ids.
 */
export async function seedPool(remote: string, work: string, tasks: number, prefix = 'race'): Promise<string[]> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const ids: string[] = [];
  gitCli(['clone', '-q', remote, work]);
  await mkdir(join(work, 'handoffs'), { recursive: true });
  for (let i = 0; i < tasks; i++) {
    const id = `${prefix}-${String(i).padStart(4, '0')}`;
    ids.push(id);
    await writeFile(join(work, 'handoffs', `${id}.md`), `---\ntitle: ${prefix} task ${i}\npriority: ${i % 7}\n---\n## Task\n\nnothing\n`);
  }
  gitCli(['add', '-A'], work);
  gitCli(['commit', '-q', '-m', `seed ${prefix} pool`], work);
  gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
  return ids;
}
