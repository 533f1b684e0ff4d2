/**
 * The git hook scripts `gitbus hooks install` writes into a person's clone of a bus. They are small POSIX sh
 * files: all logic lives in the CLI (`gitbus hooks run <hook>`), so the scripts only find gitbus, chain to the
 * hook they replaced (`<name>.pre-gitbus`, kept by `install --force`) and pass git's arguments on.
 */
import { shellQuoted } from '../bus/project/shell-word.js';

export const HOOK_NAMES = ['pre-commit', 'post-commit', 'post-merge', 'post-rewrite'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** The line that marks a hook as gitbus's: install overwrites and uninstall removes only files that carry it. */
export const HOOK_MARKER = '# gitbus-hook:';

/** Suffix of a hook that `install --force` replaced; the gitbus hook runs it first, uninstall puts it back. */
export const PREVIOUS_SUFFIX = '.pre-gitbus';

export const HOOK_PURPOSE: Record<HookName, string> = {
  'pre-commit': 'refuses a commit whose staged bus files break the protocol (the checks of gitbus lint), or that changes or deletes a task\'s file (written once)',
  'post-commit': 'pushes the branch after each commit, so committing a handoff dispatches it',
  'post-merge': 'after a pull, lists the responses that arrived',
  'post-rewrite': 'after git pull --rebase, lists the responses that arrived and pushes the rebased commits',
};

/** How the scripts find gitbus: this node and CLI, recorded at install time; `gitbus` on PATH if they are gone. */
export interface CliLocation {
  node: string;
  script: string;
}


/** What each hook does after the previous hook ran. */
const BODY: Record<HookName, string> = {
  // The commit stops when the previous hook refuses it, or when gitbus finds errors or cannot run at all.
  'pre-commit': `if [ -x "$previous" ]; then
  "$previous" "$@" || exit $?
fi
run_gitbus hooks run pre-commit -- "$@"
`,
  // git ignores what a post-commit hook returns; every failure is printed by the hook itself.
  'post-commit': `if [ -x "$previous" ]; then
  "$previous" "$@"
fi
run_gitbus hooks run post-commit -- "$@"
exit 0
`,
  'post-merge': `if [ -x "$previous" ]; then
  "$previous" "$@"
fi
run_gitbus hooks run post-merge -- "$@"
exit 0
`,
  // git gives post-rewrite the rewritten commits on standard input: the hook it replaced gets them unchanged.
  'post-rewrite': `input=$(cat)
if [ -x "$previous" ]; then
  printf '%s\\n' "$input" | "$previous" "$@"
fi
run_gitbus hooks run post-rewrite -- "$@" </dev/null
exit 0
`,
};

/** The text of one hook script. */
export function hookScript(name: HookName, cli: CliLocation): string {
  return `#!/bin/sh
${HOOK_MARKER} ${name}
# Written by "gitbus hooks install": ${HOOK_PURPOSE[name]}.
# "gitbus hooks uninstall" removes it and puts back ${name}${PREVIOUS_SUFFIX}, the hook it replaced, if any.
# Edits here are lost when the hooks are installed again.

gitbus_node=${shellQuoted(cli.node)}
gitbus_cli=${shellQuoted(cli.script)}
previous="$0${PREVIOUS_SUFFIX}"

run_gitbus() {
  if [ -x "$gitbus_node" ] && [ -f "$gitbus_cli" ]; then
    "$gitbus_node" "$gitbus_cli" "$@"
  elif command -v gitbus >/dev/null 2>&1; then
    gitbus "$@"
  else
    echo "gitbus hook ${name}: cannot run gitbus: $gitbus_cli (with $gitbus_node) is gone and gitbus is not on PATH" >&2
    echo "  fix: put gitbus on PATH, or run \\"gitbus hooks install\\" again; to go without the hook, delete $0" >&2
    return 127
  fi
}

${BODY[name]}`;
}

export function isGitbusHook(text: string): boolean {
  return text.includes(HOOK_MARKER);
}
