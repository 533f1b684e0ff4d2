import { git } from '../../bus/project/git.js';
import { MAX_SUBJECTS, type ProjectReport } from '../../schemas/project.js';
import { oneLineText } from '../../schemas/output-text.js';
import type { PendingPush } from './push.js';
import type { PreparedWorkspace } from './worktree.js';

export interface FinishInput {
  ws: PreparedWorkspace;
  id: string;
  attempt: number;
  node: string;
  title: string;
  status: string;
  /** The handoff's autoCommit; else the project's in node.yaml; else true. */
  autoCommit: boolean | undefined;
}

export interface Finished {
  report: ProjectReport;
  push: PendingPush;
  /** `git diff --stat` from the base, capped: the response's Changes section. */
  stat: string;
  /** Changes left uncommitted (autoCommit off): said in the response, kept in the worktree. */
  uncommitted: number;
}

/** Who gitbus commits as when the node's git has no identity: the node, at an address that cannot receive mail. */
export function nodeIdentity(node: string): string[] {
  return ['-c', `user.name=gitbus (${node})`, '-c', `user.email=${node}@gitbus.invalid`];
}

async function hasIdentity(cwd: string): Promise<boolean> {
  const r = await git(['config', '--get', 'user.email'], { cwd, okCodes: [1] });
  return r.code === 0 && r.stdout.trim() !== '';
}

/** "3 files changed, 10 insertions(+), 2 deletions(-)" as numbers. Pure. */
export function parseShortstat(text: string): { files: number; insertions: number; deletions: number } {
  const n = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  return { files: n(/(\d+) files? changed/), insertions: n(/(\d+) insertions?\(\+\)/), deletions: n(/(\d+) deletions?\(-\)/) };
}

/**
 * After the run: commits what it left uncommitted (never the files copied in from the node's checkout, and without
 * running the project's hooks), then reads the branch's facts for the response. The push is the outbox's job.
 */
export async function finishWorktree(f: FinishInput): Promise<Finished> {
  const cwd = f.ws.record.path;
  const included = f.ws.record.included ?? [];
  let uncommitted = 0;
  const dirty = async () => (await git(['status', '--porcelain', '-z', '--untracked-files=all'], { cwd })).stdout.split('\0').filter(Boolean).filter((l) => !included.includes(l.slice(3)));
  if (f.autoCommit !== false) {
    if ((await dirty()).length > 0) {
      await git(['add', '--all'], { cwd });
      if (included.length > 0) await git(['reset', '--quiet', '--', ...included], { cwd, okCodes: [1] });
      const staged = await git(['diff', '--cached', '--quiet'], { cwd, okCodes: [1] });
      if (staged.code === 1) {
        const who = (await hasIdentity(cwd)) ? [] : nodeIdentity(f.node);
        const message = `${f.title}\n\ngitbus task ${f.id}, attempt ${f.attempt}, on ${f.node} (${f.status}): what the run left uncommitted`;
        await git([...who, 'commit', '--quiet', '--no-verify', '-F', '-'], { cwd, input: message, what: 'could not commit the run\'s changes' });
      }
    }
  } else {
    uncommitted = (await dirty()).length;
  }
  const head = (await git(['rev-parse', 'HEAD'], { cwd })).stdout.trim();
  const base = f.ws.record.baseCommit;
  const facts = await branchFacts({ cwd }, base, head);
  const report: ProjectReport = { repo: f.ws.record.repo, branch: f.ws.record.branch, baseCommit: base, headCommit: head, pushed: false, ...facts.counts };
  const stat = facts.stat;
  return { report, push: { gitDir: f.ws.cache.gitDir, url: f.ws.cache.url, commit: head, branch: f.ws.record.branch, worktree: f.ws.record.key }, stat, uncommitted };
}

/** What a branch holds over its base, for the response: counts, the newest subjects, the diffstat. */
export async function branchFacts(where: { cwd?: string; gitDir?: string }, base: string, head: string): Promise<{ counts: Pick<ProjectReport, 'commits' | 'subjects' | 'files' | 'insertions' | 'deletions'>; stat: string }> {
  const range = `${base}..${head}`;
  const [count, log, short, stat] = await Promise.all([
    git(['rev-list', '--count', range], where),
    git(['log', `--max-count=${MAX_SUBJECTS}`, '--format=%s', range], where),
    git(['diff', '--shortstat', base, head], where),
    git(['diff', '--stat=120', '--stat-count=60', base, head], where),
  ]);
  const subjects = log.stdout.split('\n').map((s) => oneLineText(s, 200)).filter((s) => s !== '');
  return { counts: { commits: Number(count.stdout.trim()) || 0, ...(subjects.length > 0 ? { subjects } : {}), ...parseShortstat(short.stdout) }, stat: stat.stdout.trimEnd() };
}
