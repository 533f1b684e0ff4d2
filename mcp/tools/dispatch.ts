import { recordDispatch, validSession } from '../../claude/session-ledger.js';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from '../../schemas/zod.js';
import { InputError, NodeCannotRunError } from '../../bus/errors.js';
import { gitContextOf } from '../../bus/git-context.js';
import { lookAtWorkTree, type CheckoutLook } from '../../bus/project/checkout-look.js';
import { dispatch } from '../../bus/ops/dispatch.js';
import { dispatchTargetProblem } from '../../bus/ops/dispatch-target.js';
import { handoffBody } from '../../bus/ops/handoff-body.js';
import { resumeInto } from '../../bus/ops/resume.js';
import { nodeProjectUrls } from '../../bus/project/remote-url.js';
import { homedir } from '../../bus/user-home-dir.js';
import { projectForTask } from '../../bus/project/resolve.js';
import type { BusContext } from '../../bus/context.js';
import { InvalidBusFileError, firstLine } from '../../schemas/errors.js';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import { taskIdSchema } from '../../schemas/fields.js';
import { handoffSchema, type Handoff } from '../../schemas/handoff.js';
import { defaultBranch, handoffProject } from '../../schemas/project.js';
import { baseSchema, branchSchema, commitSchema, repoSchema } from '../../schemas/project-schema.js';
import { commandSigner } from '../../bus/trust/dispatch-signing.js';
import { defineTool } from '../tool.js';
import { inToolWords } from '../call.js';

const h = handoffSchema.shape;

const input = z.strictObject({
  title: h.title,
  body: z.optional(z.string()).register(z.globalRegistry, { description: 'the task description (Markdown); default: the title' }),
  context: z.optional(z.string()).register(z.globalRegistry, { description: 'background the worker needs (a Context section of the body)' }),
  instructions: z.optional(z.string()).register(z.globalRegistry, { description: 'how to do it and how to report back (an Instructions section)' }),
  to: h.to,
  labels: h.labels,
  runner: h.runner,
  command: h.command,
  workdir: h.workdir,
  after: h.after,
  priority: h.priority,
  timeout: h.timeout,
  repo: h.repo,
  base: h.base,
  branch: h.branch,
  cwd: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))).register(z.globalRegistry, { description: "a directory inside a git checkout of the project: the task works on it as `gitbus dispatch` run there would (repo: the branch's upstream remote, else origin; base: the checkout's HEAD, which must be pushed), and the body gets its git state. A relative path is taken from the server's working directory" }),
  claude: h.claude,
  resume: z.optional(taskIdSchema).register(z.globalRegistry, { description: "continue that claude task's session on the node that ran it, in its worktree (its repo, branch and node are used)" }),
  force: z.optional(z.boolean()).register(z.globalRegistry, { description: 'dispatch even when `to` names a node that is not on the bus or cannot run the task (it waits until one can)' }),
});

const output = z.object({
  id: taskIdSchema,
  path: z.string().register(z.globalRegistry, { description: 'the handoff file on the bus' }),
  title: z.string(),
  warnings: z.array(z.string()).register(z.globalRegistry, { description: 'why the task may wait longer than expected' }),
  queued: z.optional(z.object({ reason: z.string() })).register(z.globalRegistry, { description: 'set when the remote could not be reached: the task waits in this node\'s queue and is sent at the next contact' }),
  resumes: z.optional(taskIdSchema).register(z.globalRegistry, { description: 'with resume: the task whose session this one continues' }),
  node: z.optional(z.string()).register(z.globalRegistry, { description: 'with resume: the node that holds the session, and so runs this task' }),
  session: z.optional(z.string()).register(z.globalRegistry, { description: 'with resume: the claude session this task continues' }),
  project: z.optional(z.object({ repo: repoSchema, base: baseSchema, baseCommit: z.optional(commitSchema), branch: z.optional(branchSchema) })).register(z.globalRegistry, { description: 'project work: where the task starts and where its results go (with resume: the resumed task\'s)' }),
  notes: z.optional(z.array(z.string())),
});

export const dispatchTool = defineTool({
  name: 'dispatch',
  title: 'Dispatch a task',
  description: [
    'Put a new task (a handoff) on the bus for a node of the fleet; returns its id at once. Follow it with `wait` (its response, with progress), `show` or `logs`.',
    'Who runs it: `to` names the one node that may claim it, `labels` are what the claiming node must all have. How: `runner` shell (or tmux, icecc) runs `command` in `workdir`; claude runs the body as a prompt (`claude` holds its `model`, `maxBudgetUsd`, `permissionMode`, `allowedTools`, `maxTurns`); manual is claimed by a person or an agent (default: shell with a command, else manual). When: `after` the listed tasks succeeded, `priority` higher first, `timeout` stops the run.',
    'Project work (a task that changes code in a git repository and pushes its results to a branch): `repo`, `base` (refused unless its commit is on the project remote) and `branch` (default gitbus/<id>), or `cwd` to take them from a checkout as `gitbus dispatch` run there would.',
  ].join(' '),
  input,
  output,
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(a, env) {
    const ctx = await env.bus();
    if (a.resume !== undefined && (a.repo !== undefined || a.base !== undefined || a.branch !== undefined || a.cwd !== undefined)) {
      throw new InputError('resume takes the project, base and branch of the task it resumes', 'leave out repo, base, branch and cwd', { field: 'resume' });
    }
    const cwd = a.cwd === undefined ? null : resolve(env.cwd, a.cwd);
    if (cwd !== null && !isDirectory(cwd)) throw new InputError(`cwd: ${cwd} is not a directory`, 'give a directory inside a git checkout of the project, or leave cwd out for a plain task', { field: 'cwd', value: cwd });
    // One look at the checkout for the body's git state and the project fields.
    const look = cwd === null ? null : await lookAtWorkTree(cwd, { recent: true, tracking: a.base === undefined });
    const git = gitContextOf(look);
    const body = handoffBody({ task: a.body ?? a.title, ...(a.context ? { context: a.context } : {}), ...(a.instructions ? { instructions: a.instructions } : {}), git });
    const handoff: Omit<Handoff, 'id' | 'from' | 'created'> = { title: a.title };
    for (const k of ['to', 'labels', 'runner', 'command', 'workdir', 'after', 'priority', 'timeout', 'claude'] as const) {
      if (a[k] !== undefined) Object.assign(handoff, { [k]: a[k] });
    }
    // Before anything is queued: a base that is not on the project remote refuses the dispatch.
    const project = a.resume === undefined ? await projectFor(ctx, a, cwd ?? env.cwd, cwd !== null, look) : null;
    if (project?.fields) Object.assign(handoff, project.fields);
    const resumed = a.resume !== undefined ? await resumeInto(ctx, a.resume, handoff) : null;
    const target = handoff.to ? await dispatchTargetProblem(ctx, handoff.to, handoff) : null;
    if (target && !a.force) throw target;
    const warnings = [...(project?.warnings ?? []), ...(target instanceof NodeCannotRunError ? [`${firstLine(target)}; the task waits until it can`] : [])];
    // Signed as `gitbus dispatch` signs (bus/trust/dispatch-signing.ts); without a key on a bus this node enforces trust on, refused.
    const sign = await commandSigner(ctx);
    const r = await handoffErrorsAsInput(() => dispatch(ctx, { handoff, body, ...(sign ? { sign } : {}), targetJudged: target instanceof NodeCannotRunError }));
    // Claude Code gives its MCP servers the session's id as it gives its Bash tool: the session's hooks then tell it
    // when this task ends, as for a `gitbus dispatch` it ran (claude/session-ledger.ts).
    const session = process.env['CLAUDE_CODE_SESSION_ID'];
    if (validSession(session)) {
      try {
        const pid = Number(process.env['CLAUDE_PID']);
        recordDispatch(ctx.paths.home, session, [{ id: r.id, title: r.title }], cwd ?? process.cwd(), Number.isSafeInteger(pid) && pid > 0 ? pid : undefined);
      } catch {
        // The task is on the bus; only this session's hear-back for it is lost (gitbus collect --node still lists it).
      }
    }
    // A resume's project is the resumed task's (resumeInto put it in the handoff), as `gitbus dispatch --resume` reports it.
    const fields = resumed ? handoffProject(handoff, r.id) : project?.fields;
    // `cwd` asks for project work: where it is no checkout, the task is plain, as `gitbus dispatch` run there makes it, and the result says so.
    const notes = [...(project?.notes ?? [])];
    if (cwd !== null && !fields && notes.length === 0 && git === null) notes.push(`not project work: cwd ${cwd} is not inside a git checkout, so the task is a plain one (give cwd a checkout of the project, or repo and base)`);
    return {
      id: r.id,
      path: r.path,
      title: r.title,
      // Said by bus/ in `gitbus dispatch`'s words (`--base twin names a branch ...`): here in the tool's (`base`), as its errors are.
      warnings: [...warnings, ...r.warnings].map(inToolWords),
      ...(r.queued ? { queued: r.queued } : {}),
      ...(resumed ? { resumes: resumed.fields.resumes, node: resumed.node, session: resumed.session } : {}),
      ...(fields ? { project: { ...fields, branch: fields.branch ?? defaultBranch(r.id) } } : {}),
      ...(notes.length ? { notes: notes.map(inToolWords) } : {}),
    };
  },
});

/** The project fields, as cli/project-flags.ts decides them for `dispatch`: from the arguments, and the checkout when `cwd` is given. */
function projectFor(ctx: BusContext, a: { repo?: string; base?: string; branch?: string }, cwd: string, fromCheckout: boolean, look: CheckoutLook | null) {
  // node.yaml's URLs are this node's: `~/…` in the user's home, a relative path relative to the bus home, as for the CLI.
  const projects = nodeProjectUrls(ctx.config.projects, ctx.paths.home, homedir());
  const flags = { ...(a.repo !== undefined ? { repo: a.repo } : {}), ...(a.base !== undefined ? { base: a.base } : {}), ...(a.branch !== undefined ? { branch: a.branch } : {}) };
  const noCheckout = fromCheckout ? `cwd ${cwd} is not inside a git checkout` : 'no cwd names a checkout of the project';
  return projectForTask({ flags, implicit: fromCheckout, readCheckout: fromCheckout, cwd, projects, busRemote: ctx.config.remote, noCheckout, by: 'dispatch', look });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A handoff that fails a rule across fields (a shell task without a command) is a bad argument, named by its field. */
async function handoffErrorsAsInput<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const first = err instanceof InvalidBusFileError ? err.problems.find((p) => p.severity === 'error') : undefined;
    if (!first || !first.path.startsWith('handoffs/')) throw err;
    const field = first.field.split('.')[0];
    if (field) throw new InputError(`${field}: ${first.reason}`, first.fix, { field: first.field });
    // A problem of the whole file (its size) is no one argument's: all of them make it.
    const size = /^the file is (?:at least )?([0-9]+) bytes/.exec(first.reason)?.[1];
    if (size !== undefined) throw new InputError(`the task is too large: its handoff would be ${size} bytes, more than the limit of ${MAX_FILE_BYTES} (256 KiB)`, 'shorten body, context, instructions, after or labels: put long material in the repository the task works on and name it');
    throw new InputError(`the task as a file: ${first.reason}`, first.fix);
  }
}
