import type { Handoff } from '../../schemas/handoff.js';
import type { NewHandoff } from './fanout.js';

/**
 * The integration of a fan-out dispatched again (`gitbus resolve ID --runner merge`): the same merge runner task —
 * repo, base, base commit, branch, the branches in the same order, group and title — where it may run (`to`,
 * `labels`: the flags', else the integration's), after the newest task on each of its branches. Pure.
 */
export function mergeAgainHandoff(h: Handoff & { repo: string; branch: string; merge: string[] }, where: { to?: string; labels?: string[]; after: string[] }): NewHandoff {
  const to = where.to ?? h.to;
  const labels = where.labels?.length ? where.labels : h.labels;
  return {
    title: h.title,
    ...(to !== undefined ? { to } : {}),
    ...(labels?.length ? { labels } : {}),
    runner: 'merge',
    repo: h.repo,
    ...(h.base ? { base: h.base } : {}),
    ...(h.baseCommit ? { baseCommit: h.baseCommit } : {}),
    branch: h.branch,
    ...(h.group ? { group: h.group } : {}),
    merge: h.merge,
    ...(where.after.length ? { after: where.after } : {}),
    ...(h.timeout ? { timeout: h.timeout } : {}),
  };
}

/** The body of an integration dispatched again. Pure. */
export function mergeAgainBody(x: { integration: string; group: string | null; branch: string; merge: string[]; after: string[] }): string {
  return [
    `# Merge again${x.group ? `: the fan-out \`${x.group}\`` : ''}\n`,
    '## Task\n',
    `Merge these branches into \`${x.branch}\` again, in this order, as task ${x.integration} did${x.after.length ? `, each as the newest task made for it reports it (${x.after.join(', ')})` : ''}:\n`,
    `${x.merge.map((b, i) => `${i + 1}. \`${b}\``).join('\n')}\n`,
    '## How\n',
    `The merge runner merges each branch at the commit its task's response reports (a branch no task made: as the project remote has it), pushes \`${x.branch}\` only when all of them merge cleanly, and otherwise reports the conflicts by branch and file; \`gitbus resolve <this task's id>\` then asks an agent to resolve them.`,
    '',
  ].join('\n');
}
