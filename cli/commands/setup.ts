import type { Command } from 'commander';
import { InputError } from '../../bus/errors.js';
import { setupClaude, setupTarget, type SetupMode, type SetupReport } from '../../claude/setup.js';
import { EXIT } from '../exit-codes.js';
import { run, withCommon, type CommonOptions } from '../common.js';
import { emit, note } from '../output.js';

interface Opts extends CommonOptions {
  user?: boolean;
  project?: boolean;
  dir?: string;
  check?: boolean;
  remove?: boolean;
}

const SETTINGS_WORDS: Record<SetupReport['settings']['action'], string> = {
  created: 'created',
  updated: 'updated',
  unchanged: 'already set',
  removed: 'gitbus keys removed',
  absent: 'not there',
};

function text(r: SetupReport): string {
  const s = r.settings;
  const md = r.claudeMd;
  const enabled = s.state.enabled ? `${r.plugin.id} enabled` : `${r.plugin.id} not enabled`;
  const market = s.state.foreign ? `marketplace "gitbus" of your own (${s.state.foreign}), left as it is` : s.state.marketplacePath ? `marketplace "gitbus" -> ${s.state.marketplacePath}` : 'no gitbus marketplace';
  const mdWords =
    md.action === 'inserted' ? `block v${md.version} inserted (~${md.tokens} tokens)`
    : md.action === 'replaced' && md.previousVersion === md.version ? `block v${md.version}, edited by hand, put back as setup writes it (~${md.tokens} tokens)`
    : md.action === 'replaced' ? `block v${md.previousVersion ?? '?'} replaced by v${md.version} (~${md.tokens} tokens)`
    : md.action === 'removed' ? 'gitbus block removed'
    : md.state === 'current' ? `block v${md.version} current`
    : md.state === 'outdated' ? `block v${md.previousVersion ?? '?'} (current: v${md.version})`
    : md.state === 'edited' ? `block v${md.version} edited by hand (setup would put back its own text)`
    : md.state === 'duplicated' ? 'more than one gitbus block'
    : 'no gitbus block';
  const lines = [
    `gitbus for Claude Code (${r.scope} scope):`,
    `  plugin     ${r.plugin.id} from ${r.plugin.dir}${r.plugin.installedByClaude ? ' (installed in Claude Code)' : ''}`,
    `  settings   ${s.file}: ${SETTINGS_WORDS[s.action]}; ${market}; ${enabled}${s.backup ? `\n             backup of the previous file: ${s.backup}` : ''}`,
    `  CLAUDE.md  ${md.file}: ${mdWords}`,
    `  gitbus     ${r.plugin.gitbusOnPath ?? 'not on PATH'}`,
  ];
  if (r.mode === 'install') lines.push('', 'Claude Code loads the plugin at the next session start: /gitbus:dispatch, /gitbus:status, /gitbus:collect, /gitbus:fanout, the gitbus MCP server, and hooks that tell a session when the tasks it dispatched end.');
  if (r.mode === 'check') lines.push('', r.current ? 'current' : `not current:\n${r.problems.map((p) => `  - ${p}`).join('\n')}\n${r.fixes.map((f) => `  fix: ${f}`).join('\n')}`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const setup = program.command('setup').description('set up tools around gitbus: "gitbus setup claude" installs the Claude Code plugin and the CLAUDE.md block');
  withCommon(
    setup
      .command('claude')
      .description("install gitbus's Claude Code plugin (commands, hooks, MCP server) without a marketplace, and a short versioned gitbus block in CLAUDE.md")
      .option('--user', 'for every project: ~/.claude/settings.json and ~/.claude/CLAUDE.md (the default)')
      .option('--project', "for one project: its .claude/settings.json and CLAUDE.md (the current folder, or --dir)")
      .option('--dir <path>', 'the project folder for --project, which must exist (default: the current folder)')
      .option('--check', 'say what is installed and whether it is current; exit 7 when it is not')
      .option('--remove', "remove the plugin's settings keys and the gitbus block, and nothing else")
      .addHelpText(
        'after',
        '\nThe settings get a directory marketplace "gitbus" pointing at this gitbus\'s claude-plugin/ folder and\n' +
          'enabledPlugins["gitbus@gitbus"] = true; every other key is kept and the file is backed up first (in\n' +
          '~/.claude/gitbus-backups/). A settings file that is not valid JSON, or whose "gitbus" marketplace is one of\n' +
          'your own, is refused, never overwritten; --remove puts back the enablement setup found. The CLAUDE.md block sits between\n' +
          '<!-- gitbus:begin vX --> and <!-- gitbus:end -->; setup replaces it on upgrade, --remove removes it, and the\n' +
          'text around it is never changed. Claude Code installs the plugin at its next session start.',
      ),
  ).action(async (opts: Opts) =>
    run(opts, async () => {
      if (opts.user && opts.project) throw new InputError('--user and --project exclude each other', 'give one of them (--user is the default)', { flag: '--project' });
      if (opts.check && opts.remove) throw new InputError('--check and --remove exclude each other', 'give one of them', { flag: '--remove' });
      if (opts.dir !== undefined && !opts.project) throw new InputError('--dir is the project folder of --project', 'add --project, or leave out --dir', { flag: '--dir' });
      const scope = opts.project ? 'project' : 'user';
      const mode: SetupMode = opts.check ? 'check' : opts.remove ? 'remove' : 'install';
      const r = setupClaude(setupTarget(scope, opts.dir !== undefined ? { dir: opts.dir } : {}), mode);
      emit(opts, r, () => text(r));
      if (!opts.json && mode === 'install') for (const p of r.problems) note(`gitbus: warning: ${p}`);
      if (!opts.json && mode === 'install' && scope === 'project' && !r.plugin.installedByClaude) {
        note(`gitbus: for yourself, Claude Code may ask to install the project's plugin when you trust the folder; to install it now: claude plugin marketplace add ${r.plugin.dir} --scope project && claude plugin install ${r.plugin.id} --scope project`);
      }
      if (mode === 'check' && !r.current) process.exitCode = EXIT.setup;
    }),
  );
}
