import { Argument, type Command } from 'commander';
import { installHooks, uninstallHooks, type InstallReport, type UninstallReport } from '../../hooks/install.js';
import { inBusWorkTree } from '../../hooks/in-bus.js';
import { lintStaged } from '../../hooks/pre-commit.js';
import { pushAfterCommit } from '../../hooks/post-commit.js';
import { arrivedResponses } from '../../hooks/post-merge.js';
import { HOOK_NAMES, PREVIOUS_SUFFIX, type HookName } from '../../hooks/templates.js';
import { EXIT } from '../exit-codes.js';
import { run, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';
import { problemLine } from '../format.js';

interface DirOpts extends CommonOptions {
  dir?: string;
  force?: boolean;
}

function installText(r: InstallReport): string {
  const lines = [`gitbus hooks in ${r.hooksDir}, running ${r.cli.node} ${r.cli.script} (or gitbus on PATH):`];
  for (const h of r.hooks) {
    const chained = h.previous ? `; runs ${h.name}${PREVIOUS_SUFFIX} (the hook that was there) first` : '';
    lines.push(`  ${h.name.padEnd(12)} ${h.action.padEnd(10)} ${h.purpose}${chained}`);
  }
  lines.push('commit a handoff to dispatch it; "gitbus hooks uninstall" removes the hooks');
  return lines.join('\n');
}

const UNINSTALL_WORDS = {
  removed: 'removed',
  restored: `removed; the hook it replaced is back`,
  absent: 'not installed',
  foreign: 'not gitbus\'s hook: left alone',
} as const;

function uninstallText(r: UninstallReport): string {
  return [`gitbus hooks in ${r.hooksDir}:`, ...r.hooks.map((h) => `  ${h.name.padEnd(12)} ${UNINSTALL_WORDS[h.action]}`)].join('\n');
}

function arrivedText(arrived: Awaited<ReturnType<typeof arrivedResponses>>): string {
  if (arrived.length === 0) return '';
  const lines = arrived.map((a) =>
    a.problem !== undefined
      ? `  ${a.id}  unreadable response (${a.problem}); see ${a.path}`
      : `  ${a.id}  ${(a.status ?? '').padEnd(10)} by ${a.node ?? '?'}${a.title !== null ? `  ${a.title}` : ''}`,
  );
  return [`gitbus: ${arrived.length} new response(s):`, ...lines, '  read one in responses/<id>.md'].join('\n');
}

function pushText(r: Awaited<ReturnType<typeof pushAfterCommit>>): string {
  if (r.outcome === 'pushed') return `gitbus: pushed ${r.branch ?? 'HEAD'} to ${r.upstream ?? 'its upstream'}`;
  if (r.outcome === 'rebasing') return ''; // every replayed commit would say it; post-rewrite pushes at the end
  return [r.output, `gitbus: not pushed: ${r.reason ?? r.outcome}`, `  fix: ${r.fix ?? 'git push'}`].filter(Boolean).join('\n');
}

/** The reminder for staged handoffs without a signature on a bus with trust/ (it never refuses the commit). */
function unsignedText(unsigned: readonly string[], refused: boolean): string {
  if (unsigned.length === 0) return '';
  const lines = [`gitbus: ${unsigned.length} handoff(s) without a signature, on a bus with a trust root (trust/)${refused ? '' : '; committing anyway'}:`];
  for (const p of unsigned) lines.push(`  ${p}: sign it with: gitbus sign ${p} && git add signatures/${p}.sig`);
  lines.push(refused ? '  sign them before you commit again' : '  then commit the signature: until it is on the bus, nodes that require signed handoffs will not run it');
  return lines.join('\n');
}

async function runHook(name: HookName, args: string[], opts: CommonOptions): Promise<void> {
  // git runs hooks at the top of the work tree, with the environment (GIT_INDEX_FILE, …) they must honour.
  const cwd = process.cwd();
  if (!(await inBusWorkTree(cwd))) {
    // A gitbus hook copied or shared (a global core.hooksPath) into a repository that is not a bus: nothing to do.
    emit(opts, { skipped: 'not a bus: no gitbus.yaml at the top of the work tree' }, () => '');
    return;
  }
  switch (name) {
    case 'pre-commit': {
      const r = await lintStaged(cwd);
      const errors = r.problems.filter((p) => p.severity === 'error').length;
      emit(opts, { ...r, errors }, () => {
        const sign = unsignedText(r.unsigned, errors > 0);
        if (r.problems.length === 0) return sign;
        const tail = errors
          ? `gitbus: commit refused: ${errors} error(s) in the staged bus files\n  fix: correct them, stage them again (git add) and commit; "git commit --no-verify" skips this check`
          : `gitbus: ${r.problems.length} warning(s) in the staged bus files; committing anyway`;
        return [...r.problems.map(problemLine), tail, sign].filter(Boolean).join('\n');
      });
      if (errors > 0) process.exitCode = EXIT.invalid;
      return;
    }
    case 'post-commit': {
      const r = await pushAfterCommit(cwd);
      emit(opts, r, () => pushText(r));
      if (r.outcome === 'behind' || r.outcome === 'failed') process.exitCode = EXIT.remote;
      return;
    }
    case 'post-merge': {
      const arrived = await arrivedResponses(cwd);
      emit(opts, { responses: arrived }, () => arrivedText(arrived));
      return;
    }
    case 'post-rewrite': {
      // `git commit --amend` rewrites too; only the end of a rebase (git pull --rebase) brings others' work.
      if (args[0] !== 'rebase') {
        emit(opts, { responses: [], push: null }, () => '');
        return;
      }
      const arrived = await arrivedResponses(cwd);
      const pushed = await pushAfterCommit(cwd, undefined, { afterRebase: true });
      emit(opts, { responses: arrived, push: pushed }, () => [arrivedText(arrived), pushText(pushed)].filter(Boolean).join('\n'));
      if (pushed.outcome === 'behind' || pushed.outcome === 'failed') process.exitCode = EXIT.remote;
      return;
    }
  }
}

export function register(program: Command): void {
  const hooks = program
    .command('hooks')
    .description('git hooks for a person\'s clone of the bus: check staged bus files, push each commit, list the responses a pull brings')
    .addHelpText(
      'after',
      '\nRun inside your clone of the bus (git clone URL), or point at it with --dir PATH. Each subcommand takes\n--help, --json (one JSON document on stdout) and --dir PATH.',
    );

  withCommon(
    hooks
      .command('install')
      .description('install the pre-commit, post-commit, post-merge and post-rewrite hooks into a clone of the bus')
      .option('--dir <path>', 'the clone of the bus (default: the current folder)')
      .option('--force', `replace hooks gitbus did not write: each is kept as <name>${PREVIOUS_SUFFIX} and run before gitbus's hook`),
  ).action(async (opts: DirOpts) =>
    run(opts, async () => {
      const r = await installHooks(opts.dir ?? process.cwd(), { force: Boolean(opts.force) });
      emit(opts, r, () => installText(r));
    }),
  );

  withCommon(
    hooks
      .command('uninstall')
      .description(`remove gitbus's hooks from a clone of the bus and put back the hooks they replaced (<name>${PREVIOUS_SUFFIX})`)
      .option('--dir <path>', 'the clone of the bus (default: the current folder)'),
  ).action(async (opts: DirOpts) =>
    run(opts, async () => {
      const r = await uninstallHooks(opts.dir ?? process.cwd());
      emit(opts, r, () => uninstallText(r));
    }),
  );

  // What the installed scripts call: the logic of each hook, run by git in the clone.
  withCommon(
    hooks
      .command('run', { hidden: true })
      .description('run one hook (called by the installed hook scripts)')
      .addArgument(new Argument('<hook>', 'the hook git runs').choices(HOOK_NAMES))
      .argument('[args...]', 'the arguments git gave the hook'),
  ).action(async (name: HookName, args: string[], opts: CommonOptions) => run(opts, async () => runHook(name, args, opts)));
}
