import { GitbusError } from '../schemas/errors.js';

/** A Claude Code settings file gitbus must change but cannot read as a JSON object: it is never overwritten. */
export class ClaudeSettingsInvalidError extends GitbusError {
  readonly code = 'CLAUDE_SETTINGS_INVALID';
  /** `again`: the command that was run, as a person types it (with --project and --dir), to run once more. */
  constructor(file: string, reason: string, again = 'gitbus setup claude') {
    super(
      `${file} is not a settings file gitbus can change: ${reason}`,
      `correct it (Claude Code reads it as one JSON object) and run "${again}" again; gitbus leaves a file it cannot read untouched`,
      { file, reason },
    );
  }
}

/** A CLAUDE.md whose gitbus markers do not pair up: which lines are gitbus's cannot be told, so nothing is changed. */
export class ClaudeMdMarkersError extends GitbusError {
  readonly code = 'CLAUDE_MD_MARKERS';
  constructor(file: string, line: number, reason: string) {
    super(
      `${file}:${line}: ${reason}`,
      'put back the missing "<!-- gitbus:end -->" line after the gitbus block, or delete the unmatched marker line, then run the command again',
      { file, line, reason },
    );
  }
}

/** The package's claude-plugin/ folder is not where this gitbus expects it (a broken install). */
export class ClaudePluginMissingError extends GitbusError {
  readonly code = 'CLAUDE_PLUGIN_MISSING';
  constructor(where: string) {
    super(`the Claude Code plugin that ships with gitbus is not at ${where}`, 'reinstall gitbus (its package includes claude-plugin/)', { where });
  }
}

/** What to do about a `gitbus` marketplace of the user's own: setup will not replace it, nor remove it. */
export function marketplaceTakenFix(file: string, key: string, again: string): string {
  return `if it is where your gitbus plugin comes from, keep it: the plugin needs no setup; to use this gitbus's plugin instead, rename "${key}.gitbus" in ${file} (and "enabledPlugins" "gitbus@gitbus" to the new name, or delete both) and run "${again}" again`;
}

/** A settings file whose `gitbus` marketplace is the user's own (github, git, url...): setup does not replace it. */
export class ClaudeMarketplaceTakenError extends GitbusError {
  readonly code = 'CLAUDE_MARKETPLACE_TAKEN';
  constructor(file: string, key: string, source: string, again = 'gitbus setup claude') {
    super(
      `${file}: "${key}.gitbus" is a marketplace of your own (${source}), not a directory marketplace setup wrote; setup changed nothing`,
      marketplaceTakenFix(file, key, again),
      { file, key, source },
    );
  }
}
