import { stat } from '../bus/node-fs-async.js';
import type { BusContext } from '../bus/context.js';
import { InputError } from '../bus/errors.js';
import { readFailure } from './read-failure.js';
import { gitContextOf } from '../bus/git-context.js';
import { lookAtWorkTree } from '../bus/project/checkout-look.js';
import { dispatchBatch, type BatchResult } from '../bus/ops/dispatch-batch.js';
import { BatchTooLargeError, InvalidBatchError, MAX_BATCH_INPUT_BYTES, parseBatch } from '../schemas/batch.js';
import { recordForClaudeSession } from './claude-session.js';
import { readAtMost } from '../bus/read-at-most.js';
import { emit, note } from './output.js';
import { projectFromFlags, reportProject, type ProjectOpts } from './project-flags.js';
import { signerFor } from './signing.js';

/** The flags `dispatch --from` reads; the others describe one task, and go into the file's lines instead. */
export interface BatchOpts extends ProjectOpts {
  json?: boolean;
  unsigned?: boolean;
  to?: string;
  label?: string[];
  git: boolean;
  force?: boolean;
  dryRun?: boolean;
}

/** Flags of a single dispatch that mean nothing for a batch, with the field a task line uses instead. */
const PER_TASK: [key: string, flag: string, field: string][] = [
  ['runner', '--runner', 'runner'],
  ['command', '--command', 'command'],
  ['bodyFile', '--body-file', 'body'],
  ['context', '--context', 'context'],
  ['instructions', '--instructions', 'instructions'],
  ['after', '--after', 'after'],
  ['group', '--group', 'group'],
  ['priority', '--priority', 'priority'],
  ['timeout', '--timeout', 'timeout'],
  ['workdir', '--workdir', 'workdir'],
  ['id', '--id', 'id'],
  ['schedule', '--schedule', 'schedule'],
  ['branch', '--branch', 'branch'],
  ['resume', '--resume', 'resumes'],
  ['model', '--model', 'claude.model'],
  ['maxBudgetUsd', '--max-budget-usd', 'claude.maxBudgetUsd'],
  ['maxTurns', '--max-turns', 'claude.maxTurns'],
  ['permissionMode', '--permission-mode', 'claude.permissionMode'],
  ['allowedTools', '--allowed-tools', 'claude.allowedTools'],
  ['interactive', '--interactive', 'claude.interactive'],
  ['resumeSession', '--resume-session', 'claude.resume'],
];

/** Refuses what a batch cannot take from the command line: a title, per-task flags, --wait. */
export function refuseSingleFlags(title: string | undefined, opts: Record<string, unknown>): void {
  if (title !== undefined) throw new InputError(`dispatch --from takes its tasks from the file, and was also given the title ${JSON.stringify(title)}`, 'leave out the TITLE (each task line has its "title"), or leave out --from', { flag: '--from' });
  if (opts['wait'] === true || opts['waitTimeout'] !== undefined) throw new InputError('dispatch --from does not wait for the responses', 'leave out --wait and --wait-timeout; follow the tasks with "gitbus status" (or dispatch them one by one with --wait)', { flag: opts['wait'] === true ? '--wait' : '--wait-timeout' });
  const given = PER_TASK.find(([key]) => opts[key] !== undefined && !(Array.isArray(opts[key]) && (opts[key] as unknown[]).length === 0));
  if (given) {
    const [, flag, field] = given;
    throw new InputError(`${flag} describes one task, and dispatch --from takes each task's fields from the file`, `write "${field}" in the task lines of the file instead (--to and --label are the defaults a batch takes)`, { flag });
  }
}

/**
 * Standard input as a stream: a pipe may be non-blocking (a shell pipeline's, a parent's), where one synchronous
 * read gives EAGAIN. Stops reading past the cap.
 */
async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += b.length;
    if (size > MAX_BATCH_INPUT_BYTES) throw new BatchTooLargeError(`standard input is more than ${MAX_BATCH_INPUT_BYTES / 2 ** 20} MiB`, `${MAX_BATCH_INPUT_BYTES / 2 ** 20} MiB`, { bytes: size });
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

async function readBatch(file: string): Promise<Buffer> {
  try {
    if (file === '-') return await readStdin();
    // A regular file far too big is refused before it is read; anything else (a pipe, a device) is read to the cap.
    const size = (await stat(file)).size;
    if (size > MAX_BATCH_INPUT_BYTES) throw new BatchTooLargeError(`${file} is ${(size / 2 ** 20).toFixed(1)} MiB`, `${MAX_BATCH_INPUT_BYTES / 2 ** 20} MiB`, { bytes: size });
    const read = await readAtMost(file, MAX_BATCH_INPUT_BYTES);
    if (read.more) throw new BatchTooLargeError(`${file} is more than ${MAX_BATCH_INPUT_BYTES / 2 ** 20} MiB`, `${MAX_BATCH_INPUT_BYTES / 2 ** 20} MiB`);
    return read.bytes;
  } catch (err) {
    if (err instanceof BatchTooLargeError) throw err;
    throw new InputError(readFailure(file, err, `the batch from ${file === '-' ? 'standard input' : file}`), 'give a readable file (JSON Lines or YAML with tasks:), or - for standard input', { flag: '--from' });
  }
}

function human(r: BatchResult): string {
  if (!r.dryRun) return r.ids.join('\n');
  return r.tasks.map((t) => `==> ${t.path} <== (${t.at})\n${t.text.trimEnd()}`).join('\n\n');
}

/** `gitbus dispatch --from FILE`: many tasks in one commit (bus/ops/dispatch-batch.ts). */
export async function dispatchFromFile(ctx: BusContext, file: string, opts: BatchOpts): Promise<void> {
  const json = Boolean(opts.json);
  const parsed = parseBatch(file, await readBatch(file));
  // A file with problems is still checked against the bus, line by line where a line passed on its own, so that one
  // run names all of them; the project is resolved for that too, and when it cannot be, the file's problems are
  // what is reported (the flags' error comes once they are fixed).
  const fileProblems = parsed.ok ? [] : parsed.problems;
  // With problems in the file, a check that could not be made (the project, the bus) leaves those problems to report.
  const fileProblemsFirst = (err: unknown): never => {
    if (fileProblems.length > 0 && !(err instanceof InvalidBatchError)) throw new InvalidBatchError(fileProblems);
    throw err;
  };
  // Once for the batch: one look at the checkout, one check that the base is on the project remote.
  // One look at the checkout for the project fields and the bodies' git state.
  const look = opts.git ? await lookAtWorkTree(process.cwd(), { recent: true, tracking: opts.repo !== false && opts.base === undefined }) : null;
  const project = await projectFromFlags(ctx, opts, { implicit: opts.git, readCheckout: opts.git, by: 'dispatch', look }).catch(fileProblemsFirst);
  if (fileProblems.length === 0) reportProject(project, json);
  const git = gitContextOf(look);
  // Nothing is signed for a batch that is refused anyway (a key may ask for its passphrase).
  const sign = opts.dryRun || fileProblems.length > 0 ? undefined : await signerFor(ctx, opts);
  const result = await dispatchBatch(ctx, {
    tasks: parsed.tasks,
    fileProblems,
    project: project.fields,
    projectFrom: typeof opts.repo === 'string' ? 'flag' : 'checkout',
    ...(opts.repo === false ? { noCheckoutRepo: '--no-repo' } : !opts.git && opts.repo === undefined ? { noCheckoutRepo: '--no-git' } : {}),
    defaults: { ...(opts.to ? { to: opts.to } : {}), ...(opts.label?.length ? { labels: opts.label } : {}) },
    git,
    dryRun: opts.dryRun === true,
    force: opts.force === true,
    ...(sign ? { sign } : {}),
  }).catch(fileProblemsFirst);
  const r = { result, project, format: parsed.format, recurring: parsed.tasks.map((t) => t.handoff.schedule !== undefined) };
  if (!json) for (const w of result.warnings) note(`gitbus: warning: ${w}`);
  const n = result.ids.length;
  // A schedule's template is no task a session waits for (as with dispatch --schedule).
  if (!result.dryRun) recordForClaudeSession(ctx.paths.home, result.tasks.filter((_t, i) => r.recurring[i] !== true).map((t) => ({ id: t.id, title: t.title })));
  if (result.dryRun) note(`gitbus: dry run: ${n} task${n === 1 ? '' : 's'} checked (${r.format === 'jsonl' ? 'JSON Lines' : 'YAML'}), nothing written`);
  else if (result.queued) note(`gitbus: queued ${n} task${n === 1 ? '' : 's'} on this node: ${result.queued.reason}; they are sent in one commit at the next contact (any gitbus command, or the watcher)`);
  else if (!json) note(`gitbus: dispatched ${n} task${n === 1 ? '' : 's'}${result.commit ? ` in one commit, ${result.commit.slice(0, 12)}` : ''}`);
  const { tasks, ...rest } = result;
  const out = {
    ...rest,
    format: r.format,
    tasks: tasks.map(({ text, ...t }) => (result.dryRun ? { ...t, text } : t)),
    ...(project.fields ? { project: project.fields } : {}),
    ...(project.notes.length ? { notes: project.notes } : {}),
    ...(project.warnings.length ? { warnings: [...project.warnings, ...result.warnings] } : {}),
  };
  emit(opts, out, () => human(result));
}
