import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectForTask } from '../bus/project/resolve.js';
import { serveOverHttp } from './git-host-process.js';
import { projectRemote } from './project.js';
import { git, tmp } from './fixtures.js';
import { fmt, summarize, time, type Sample } from './stats.js';

/**
 * The base check of a dispatch from a checkout (issue 14) on a project remote that holds many refs besides its
 * branches and tags, as a git host keeps two per pull request (`refs/pull/N/head`, `refs/pull/N/merge`): gitbus's
 * check (bus/project/resolve.ts, in-process: the look at the checkout and the remote's listing) on that remote, from
 * an up-to-date checkout and from one behind the remote, against the same check on the same project without them,
 * and against `git ls-remote --symref`, the whole listing the check read before, in the same run. Over a local path
 * and over smart HTTP (git http-backend).
 */
const exec = promisify(execFile);

/** Writes `count` pull-request refs (head and merge, all at `commit`) into the bare `remote`'s packed-refs (its branches stay loose). */
function addPullRefs(remote: string, commit: string, count: number): void {
  const names: string[] = [];
  for (let n = 1; n <= count / 2; n++) names.push(`refs/pull/${n}/head`, `refs/pull/${n}/merge`);
  // packed-refs is sorted by name (bytes); one file rather than tens of thousands of loose refs.
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  writeFileSync(join(remote, 'packed-refs'), `# pack-refs with: peeled fully-peeled sorted \n${names.map((n) => `${commit} ${n}`).join('\n')}\n`);
}

/** A bare project remote (bench/project.ts, its main of two files) and a clone of it, whose origin is the remote. */
function project(dir: string, name: string): { remote: string; checkout: string; main: string } {
  const { remote, main } = projectRemote(dir, name, 0);
  const checkout = join(dir, `${name}-checkout`);
  git(['clone', '-q', remote, checkout]);
  return { remote, checkout, main };
}

const check = (checkout: string) => () =>
  projectForTask({ flags: {}, implicit: true, readCheckout: true, cwd: checkout, projects: {}, busRemote: '/nonexistent/bus.git', by: 'dispatch' }).then((r) => {
    if (r.fields === null) throw new Error(`bench: the check in ${checkout} found no project: ${r.notes.join('; ')}`);
  });

const listing = (url: string) => () => exec('git', ['ls-remote', '--symref', url], { maxBuffer: 1 << 28 });

/** Runs each case in turn, `runs` times after two warm-up rounds; the medians and tails by case. */
async function takingTurns(cases: (() => Promise<unknown>)[], runs: number): Promise<Sample[]> {
  const ms: number[][] = cases.map(() => []);
  for (let r = 0; r < runs + 2; r++) {
    for (const [i, c] of cases.entries()) {
      const t = await time(c);
      if (r >= 2) ms[i]?.push(t);
    }
  }
  return ms.map(summarize);
}

export async function projectRefsBench(lines: string[], refs: number, runs: number): Promise<void> {
  const dir = tmp('gitbus-bench-project-refs-');
  const host = await serveOverHttp(dir);
  try {
    const plain = project(dir, 'plain');
    const hosted = project(dir, 'hosted');
    addPullRefs(hosted.remote, hosted.main, refs);
    // For each remote, a checkout that has not fetched since someone else pushed to main (the other is brought up to date).
    const behindOf = (p: { remote: string; checkout: string }, name: string): string => {
      const behind = join(dir, `${name}-behind`);
      git(['clone', '-q', p.remote, behind]);
      const mate = join(dir, `${name}-mate`);
      git(['clone', '-q', p.remote, mate]);
      git(['-c', 'user.name=bench', '-c', 'user.email=b@x.invalid', 'commit', '-q', '--allow-empty', '-m', 'theirs'], mate);
      git(['push', '-q', 'origin', 'main'], mate);
      git(['pull', '-q', '--ff-only', 'origin', 'main'], p.checkout);
      return behind;
    };
    const plainBehind = behindOf(plain, 'plain');
    const hostedBehind = behindOf(hosted, 'hosted');
    const bytes = (url: string, args: string[]) => Buffer.byteLength(git(['ls-remote', ...args, url]));
    const full = bytes(hosted.remote, ['--symref']);
    const scoped = bytes(hosted.remote, ['--heads', '--tags']);
    lines.push(`## Project tasks: the base check of a dispatch from a checkout, on a remote with ${refs} pull-request refs (${runs} runs, taking turns)`, '');
    lines.push(`The whole listing is ${(full / 1024).toFixed(0)} KiB; the branches and tags the check asks for (protocol v2 ref prefixes), ${scoped} bytes.`, '');
    lines.push('| remote | checkout | the check, no pull-request refs | the check, with them | ratio | `git ls-remote --symref` (every ref), with them |', '| --- | --- | --- | --- | --- | --- |');
    for (const [label, url] of [
      ['a local path', (r: string) => r],
      ['smart HTTP (git http-backend)', (r: string) => `${host.url}/${r.slice(dir.length + 1)}`],
    ] as const) {
      for (const [p, behind] of [[plain, plainBehind], [hosted, hostedBehind]] as const) {
        git(['remote', 'set-url', 'origin', url(p.remote)], p.checkout);
        git(['remote', 'set-url', 'origin', url(p.remote)], behind);
      }
      const samples = (await takingTurns([check(plain.checkout), check(hosted.checkout), check(plainBehind), check(hostedBehind), listing(url(hosted.remote))], runs)) as [Sample, Sample, Sample, Sample, Sample];
      const [upPlain, upHosted, behindPlain, behindHosted, whole] = samples;
      const cell = (x: Sample) => `${fmt(x.median)} / ${fmt(x.p90)} ms`;
      const verdict = (x: Sample, base: Sample) => {
        const ratio = x.median / base.median;
        return `${ratio.toFixed(2)}x${ratio <= 1.3 ? ' (target <= 1.3x: met)' : ' (target <= 1.3x: MISSED)'}`;
      };
      lines.push(`| ${label} | up to date | ${cell(upPlain)} | ${cell(upHosted)} | ${verdict(upHosted, upPlain)} | ${cell(whole)} |`);
      lines.push(`| ${label} | behind the remote | ${cell(behindPlain)} | ${cell(behindHosted)} | ${verdict(behindHosted, behindPlain)} | |`);
    }
    lines.push('', 'median / p90. The check runs the five git commands of the look at the checkout (bus/project/checkout-look.ts) and one listing of branches and tags (every ref before issue 14\'s session 51); the checkout behind the remote is vouched for by its remote-tracking refs (with a warning), as before.', '');
  } finally {
    host.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
