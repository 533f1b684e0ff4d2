import { editNode } from './project.js';

/** Sets `claude:` (and the claude runner) in a node's node.yaml, as a person would edit it. */
export function grant(home: string, claude: Record<string, unknown>): void {
  editNode(home, (c) => ({ ...c, runners: ['claude'], claude }));
}

/** The value after a flag in an argv, and for --allowedTools every value up to the next flag. */
export function flag(argv: string[], name: string): string[] | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const rest = argv.slice(i + 1);
  const end = rest.findIndex((a) => a.startsWith('-'));
  return end < 0 ? rest : rest.slice(0, end);
}
