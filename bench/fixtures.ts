import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderBusFile } from '../schemas/bus-file.js';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@x.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@x.invalid' };

export function git(args: string[], cwd?: string, input?: string | Buffer, env?: NodeJS.ProcessEnv): string {
  return execFileSync('git', args, { cwd, env: env ? { ...GIT_ENV, ...env } : GIT_ENV, input, encoding: 'utf8', maxBuffer: 1 << 30 });
}

/** Folders tmp() made in this process: removed when it exits (the archive bench's alone is ~1 GB), unless BENCH_KEEP=1. */
const made: string[] = [];

export function tmp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (made.length === 0 && process.env['BENCH_KEEP'] !== '1') process.once('exit', removeTemps);
  made.push(dir);
  return dir;
}

function removeTemps(): void {
  for (const dir of made.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // A file still held open by a process the bench started: left for the system's temp cleaning.
    }
  }
}

/**
 * Writes a bus history with `finished` tasks behind it, through git fast-import: tasks are dispatched, claimed
 * and answered in batches, and archived every `archiveEvery` tasks, as a bus with daily archiving would look.
 * Returns the path of a bare remote whose main holds only gitbus.yaml, a node card and the archive branch.
 */
export function historyRemote(dir: string, finished: number, settingsText: string, nodeCard: string, archiveEvery = 500, batch = 10): string {
  const remote = join(dir, 'remote.git');
  git(['init', '-q', '--bare', '-b', 'main', remote]);
  const chunks: string[] = [];
  let mark = 0;
  const when = 1_790_000_000;
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const commit = (ref: string, msg: string, ops: string[], parentMark: number | null, t: number) => {
    mark++;
    chunks.push(`commit ${ref}\nmark :${mark}\ncommitter bench <b@x.invalid> ${t} +0000\n${data(msg)}${parentMark ? `from :${parentMark}\n` : ''}${ops.join('')}`);
    return mark;
  };
  const inline = (path: string, text: string) => `M 100644 inline ${path}\n${data(text)}`;
  let mainMark = commit('refs/heads/main', 'gitbus: init', [inline('gitbus.yaml', settingsText), inline('nodes/bench.md', nodeCard)], null, when);
  let archiveMark: number | null = null;
  let live: string[] = [];
  const files = (id: string, i: number) => {
    const created = new Date((when + i) * 1000).toISOString();
    return {
      handoff: renderBusFile('handoff', { id, title: `task ${i}`, from: 'bench', created, command: 'true' }, '## Task\n\nbench\n'),
      claim: renderBusFile('claim', { id, attempt: 1, node: 'bench', claimed: created }, ''),
      response: renderBusFile('response', { id, status: 'succeeded', node: 'bench', attempt: 1, finished: created, exitCode: 0 }, '## Summary\n\nok\n'),
    };
  };
  for (let i = 0; i < finished; i += batch) {
    const ops: string[] = [];
    for (let j = i; j < Math.min(finished, i + batch); j++) {
      const id = `bench-${String(j).padStart(6, '0')}`;
      const f = files(id, j);
      ops.push(inline(`handoffs/${id}.md`, f.handoff), inline(`claims/${id}.1.md`, f.claim), inline(`responses/${id}.md`, f.response));
      live.push(id);
    }
    mainMark = commit('refs/heads/main', `gitbus: tasks ${i}..`, ops, mainMark, when + i);
    if (live.length >= archiveEvery || i + batch >= finished) {
      const add: string[] = [];
      const del: string[] = [];
      for (const id of live) {
        const j = Number(id.slice(6));
        const f = files(id, j);
        add.push(inline(`2026-11/${id}/handoff.md`, f.handoff), inline(`2026-11/${id}/claim.1.md`, f.claim), inline(`2026-11/${id}/response.md`, f.response));
        del.push(`D handoffs/${id}.md\n`, `D claims/${id}.1.md\n`, `D responses/${id}.md\n`);
      }
      archiveMark = commit('refs/heads/archive', `gitbus: archive ${live.length} tasks`, add, archiveMark, when + i);
      mainMark = commit('refs/heads/main', `gitbus: archive ${live.length} tasks`, del, mainMark, when + i);
      live = [];
    }
  }
  chunks.push('done\n');
  const stream = join(dir, 'fast-import.stream');
  writeFileSync(stream, chunks.join(''));
  execFileSync('sh', ['-c', `git fast-import --quiet --done < "${stream}"`], { cwd: remote, env: GIT_ENV });
  git(['--git-dir', remote, 'gc', '-q']);
  return remote;
}
