import type { Claim } from '../../schemas/claim.js';
import type { FileProblem } from '../../schemas/errors.js';
import { type ClaudeRequest, type Handoff } from '../../schemas/handoff.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import { MAX_TITLE_CHARS } from '../../schemas/field-limits.js';
import { defaultBranch } from '../../schemas/project.js';
import type { TaskResponse } from '../../schemas/response.js';
import { InvalidTaskError } from '../errors.js';
import { NeverRanError, NoSessionError, StillRunningError } from '../resume-errors.js';
import { isFinal, type TaskState } from './types.js';
import { shellWord } from '../project/shell-word.js';

/** What the bus holds about a task that is to be resumed, live or archived. */
export interface RanTask {
  id: string;
  state: TaskState;
  handoff: Handoff | null;
  response: TaskResponse | null;
  /** Its readable claims, by attempt number. */
  claims: Claim[];
  /** Why it is `invalid` (an archived file's path as `archive:<month>/<id>/<name>`); empty otherwise. */
  problems: FileProblem[];
}

/** The handoff fields that continue a task's claude session where it ran: the same node, folder and session. */
export type ResumeFields = Pick<Handoff, 'to' | 'runner' | 'claude' | 'resumes' | 'repo' | 'base' | 'baseCommit' | 'branch' | 'workdir' | 'group' | 'merge'> & {
  to: string;
  claude: ClaudeRequest & { resume: string };
  resumes: string;
};

export interface ResumePlan {
  fields: ResumeFields;
  node: string;
  session: string;
}

/**
 * The claim of the attempt that ended `t`: the response's attempt, else (no response, or one that names none) the
 * last claim's. Undefined when that claim is not among `t.claims` (it did not parse or does not count). Pure.
 */
export function runClaim(t: Pick<RanTask, 'claims' | 'response'>): Claim | undefined {
  const attempt = t.response?.attempt ?? highestClaim(t.claims)?.attempt;
  return t.claims.find((c) => c.attempt === attempt);
}

function highestClaim(claims: readonly Claim[]): Claim | undefined {
  return [...claims].sort((a, b) => b.attempt - a.attempt)[0];
}

/**
 * How to continue task `t`'s claude session: on the node that ran it (the response's, else the last claim's), in
 * the session the response reports (else the one its claim recorded), on the same project, branch and workdir
 * (and in the same fan-out group), so that the node finds the worktree and the folder the session lives in. The claude settings it ran with are
 * kept. Refuses a task that is invalid, never ran, has no session, or is still running or will run again. Pure.
 */
export function resumePlan(t: RanTask): ResumePlan {
  const lastClaim = highestClaim(t.claims);
  // Before the others: an invalid task does not run again by itself (its handoff never runs; an archived one's end
  // is unknown, so its node may not be done with the session), and what helps is its problems' fixes, not a wait.
  if (t.state === 'invalid') throw invalidRefusal(t);
  if (!isFinal(t.state)) {
    if (t.claims.length === 0 && !t.response) throw new NeverRanError(t.id, t.state);
    const running = t.state === 'claimed' || t.state === 'cancelling';
    throw new StillRunningError(t.id, running ? `still running (${t.state})` : `${t.state} and will run again`, running ? (lastClaim?.node ?? null) : null);
  }
  if (t.claims.length === 0 && !t.response) throw new NeverRanError(t.id, t.state);
  const h = t.handoff;
  if (!h) throw new NoSessionError(t.id, 'its handoff cannot be read', `see what is wrong with "gitbus show ${t.id}"`);
  const runner = effectiveRunner(h);
  if (runner !== 'claude') {
    throw new NoSessionError(t.id, `it ran with the ${runner} runner, and only a claude task has a session`, `dispatch a new task instead${h.repo ? ` (with --repo ${shellWord(h.repo)} --branch ${shellWord(h.branch ?? defaultBranch(t.id))} it continues the same branch)` : ''}`);
  }
  const claimOfRun = runClaim(t) ?? lastClaim;
  const session = t.response?.claude?.sessionId ?? claimOfRun?.session;
  const node = t.response?.node ?? claimOfRun?.node;
  if (!session || !node) {
    throw new NoSessionError(t.id, 'neither its response nor its claim records one (it ran with a gitbus that did not record sessions, or interactively before gitbus recorded theirs)', 'dispatch a new task instead');
  }
  const { interactive: _interactive, resume: _resume, ...kept } = h.claude ?? {};
  const fields: ResumeFields = { to: node, runner: 'claude', claude: { ...kept, resume: session }, resumes: t.id };
  if (h.repo !== undefined) {
    fields.repo = h.repo;
    if (h.base !== undefined) fields.base = h.base;
    const baseCommit = h.baseCommit ?? t.response?.project?.baseCommit;
    if (baseCommit !== undefined) fields.baseCommit = baseCommit;
    fields.branch = h.branch ?? defaultBranch(t.id);
  }
  if (h.workdir !== undefined) fields.workdir = h.workdir;
  // A fan-out's workstream resumed stays in its group: `gitbus group` lists it, `cancel --group` stops it.
  if (h.group !== undefined) fields.group = h.group;
  // A resolve's follow-up resumed still merges those branches: its node checks the result contains them (else a
  // resume that merged nothing would count as resolving the integration).
  if (h.merge !== undefined) fields.merge = h.merge;
  return { fields, node, session };
}

function invalidRefusal(t: RanTask): InvalidTaskError {
  const errors = t.problems.filter((p) => p.severity === 'error');
  const problems = errors.length ? errors : t.problems;
  const first = problems[0];
  const fix = `${first ? `${first.fix} (` : ''}"gitbus show ${t.id}" lists why${first ? ')' : ''}, or dispatch a new task`;
  return new InvalidTaskError(t.id, problems, 'does not run again by itself, so there is no session to resume', fix);
}

/** `resume <id>: <the prompt's first line>`, within a title's length. Pure. */
export function resumeTitle(id: string, prompt: string): string {
  const first = prompt.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? 'continue';
  const title = `resume ${id}: ${first}`;
  return title.length <= MAX_TITLE_CHARS ? title : `${title.slice(0, MAX_TITLE_CHARS - 1)}…`;
}

/** The keys a resume decides; a dispatch's own values for them are replaced (`dispatch --resume`). */
const RESUME_KEYS = ['to', 'runner', 'claude', 'resumes', 'repo', 'base', 'baseCommit', 'branch', 'autoCommit', 'workdir', 'group', 'merge'] as const;

/**
 * A dispatch's handoff made into a resume: the project fields come from the resumed task, whatever the current
 * checkout filled in; a node, runner, command or workdir the person asked for that the session cannot have is
 * refused (returned as the reason). Pure.
 */
export function applyResume<H extends Omit<Handoff, 'id' | 'from' | 'created'>>(handoff: H, plan: ResumePlan): H | { conflict: string; fix: string } {
  const f = plan.fields;
  if (handoff.to !== undefined && handoff.to !== f.to) return { conflict: `--to ${handoff.to}, but the session of ${f.resumes} lives on node ${f.to}`, fix: `leave --to out: a resume runs where the session is` };
  if (handoff.runner !== undefined && handoff.runner !== 'claude') return { conflict: `--runner ${handoff.runner}, but a resume runs claude`, fix: 'leave --runner out' };
  if (handoff.command !== undefined) return { conflict: '--command, but a resume runs claude with the task text as its prompt', fix: 'leave --command out and say what to do in the title or --body-file' };
  if (handoff.workdir !== undefined && handoff.workdir !== f.workdir) return { conflict: `--workdir ${handoff.workdir}, but the session of ${f.resumes} lives in ${f.workdir ?? 'the task\'s folder'}`, fix: 'leave --workdir out' };
  const out = { ...handoff };
  for (const k of RESUME_KEYS) delete out[k];
  return { ...out, ...f };
}
