import type { ProjectReport } from '../../schemas/project.js';
import { isProjectName, publishedRemote } from '../project/remote-url.js';
import { responseSection } from './response-sections.js';

/**
 * Where a project task's results are fetched from, as every face prints it (`show`, `group`, `resolve`): the URL
 * the response's Branch section says its commands use, when the task's `repo` is a node.yaml project name (which
 * git does not read); else the repo as written. The response's frontmatter has no field for that URL (its fields
 * are fixed within a protocol version, docs/PROTOCOL.md §6), so the Branch section's line carries it.
 */

const LINE_START = 'The commands use ';
const lineEnd = (name: string) => `, the URL of ${name} on the node that ran the task.`;

/** The Branch section's line naming the URL its commands use for the project `name` (read back by projectUrlOfBody). Pure. */
export function projectUrlLine(url: string, name: string): string {
  return `${LINE_START}${url}${lineEnd(name)}`;
}

/**
 * The URL a response's Branch section says its commands use for the project name `report.repo`, or undefined: the
 * repo is no project name, the branch is not pushed, the body has no such line (an older gitbus, a path on the node
 * that ran it), or the URL is not one that node would have published (publishedRemote: with credentials, a path,
 * not a valid repo), which a hand-written or forged body may hold. Only the lines before the section's fetch count.
 * Pure.
 */
export function projectUrlOfBody(body: string, report: Pick<ProjectReport, 'repo' | 'pushed'>): string | undefined {
  if (!report.pushed || !isProjectName(report.repo)) return undefined;
  const section = responseSection(body.replace(/\r\n/g, '\n'), 'Branch');
  if (section === undefined) return undefined;
  const end = lineEnd(report.repo);
  for (const line of section.split('\n')) {
    if (line === 'Fetch it:') break;
    if (!line.startsWith(LINE_START) || !line.endsWith(end)) continue;
    const url = line.slice(LINE_START.length, line.length - end.length);
    return publishedRemote(report.repo, url) === url ? url : undefined;
  }
  return undefined;
}

/**
 * The URL a delivery gives for the project name `report.repo` (docs/PROTOCOL.md §3a, "A push that lands later"), or
 * undefined: as projectUrlOfBody, only one that node would have published counts. Pure.
 */
export function projectUrlOfDelivery(url: string | undefined, report: Pick<ProjectReport, 'repo' | 'pushed'>): string | undefined {
  if (url === undefined || !report.pushed || !isProjectName(report.repo)) return undefined;
  return publishedRemote(report.repo, url) === url ? url : undefined;
}

/**
 * The remote to fetch a task's results from: `repo` (the response's, else the handoff's), or the URL of that
 * project name its response gives (projectUrlOfBody), or, for a push that landed after the response, its delivery
 * (`deliveredUrl`: the response went out before the push, so its body has no such line). Pure.
 */
export function resultsRemote(repo: string, report: ProjectReport | undefined, body: string | undefined, deliveredUrl?: string): string {
  if (!report || report.repo !== repo) return repo;
  return (body !== undefined ? projectUrlOfBody(body, report) : undefined) ?? projectUrlOfDelivery(deliveredUrl, report) ?? repo;
}

/** How the Branch section starts a warning of the node that ran the task (RespondInput.projectWarnings). */
export const WARNING_START = 'Warning: ';

/**
 * The warnings a response's Branch section gives about the run's branch (a result that lacks its base, work left
 * off the pushed branch), for `show` and a waiting command to say again. Only the lines before the fetch and the
 * commit list count: the subjects and the diffstat after them are the run's words. Pure.
 */
export function branchWarningsOfBody(body: string | undefined): string[] {
  if (body === undefined) return [];
  const section = responseSection(body.replace(/\r\n/g, '\n'), 'Branch');
  if (section === undefined) return [];
  const out: string[] = [];
  for (const line of section.split('\n')) {
    if (line === 'Fetch it:' || line === 'Commits:' || line.startsWith('```')) break;
    if (line.startsWith(WARNING_START) && line.length > WARNING_START.length) out.push(line.slice(WARNING_START.length));
  }
  return out;
}
