import { join } from 'node:path';
import { gitCli, gitbus, json, tempDir } from './cli.js';

/** A bus on a local bare remote with a first node; more nodes join with `addNode`. */
export async function makeBus(opts: { node?: string; labels?: string[]; initArgs?: string[] } = {}) {
  const dir = await tempDir('gitbus-bus-');
  const remote = join(dir.path, 'remote.git');
  const home = (name: string) => join(dir.path, `home-${name}`);
  const first = opts.node ?? 'alpha';
  const r = await gitbus(['init', '--remote', remote, '--node', first, ...(opts.labels ?? []).flatMap((l) => ['--label', l]), ...(opts.initArgs ?? []), '--json'], { home: home(first) });
  if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`);
  return {
    dir: dir.path,
    remote,
    home,
    first,
    async addNode(name: string, labels: string[] = [], extra: string[] = []) {
      const j = await gitbus(['join', remote, '--node', name, ...labels.flatMap((l) => ['--label', l]), ...extra, '--json'], { home: home(name) });
      if (j.code !== 0) throw new Error(`join ${name} failed: ${j.stderr}`);
      return home(name);
    },
    async dispatch(node: string, args: string[]) {
      const d = await gitbus(['dispatch', ...args, '--json', '--no-git'], { home: home(node) });
      if (d.code !== 0) throw new Error(`dispatch failed: ${d.stderr}`);
      return json<{ id: string }>(d).id;
    },
    cleanup: dir.cleanup,
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
