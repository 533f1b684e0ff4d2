import type { GitContext } from '../git-context.js';

export interface HandoffBodyInput {
  task: string;
  context?: string;
  instructions?: string;
  git?: GitContext | null;
}

/** The handoff body in the seed's shape: task, context, git state, instructions. Pure. */
export function handoffBody(input: HandoffBodyInput): string {
  const task = input.task.trim();
  // A body file written in the same shape (`## Task` first) keeps its own heading rather than getting a second one.
  const parts = [/^## Task[ \t]*(\n|$)/.test(task) ? `${task}\n` : `## Task\n\n${task}\n`];
  if (input.context?.trim()) parts.push(`## Context\n\n${input.context.trim()}\n`);
  if (input.git) {
    const g = input.git;
    const fence = (s: string) => `\`\`\`\n${s.replace(/```/g, "'''") || '(none)'}\n\`\`\``;
    parts.push(
      [
        '## Git state',
        '',
        `**Repository:** ${g.remote ?? g.root}`,
        `**Branch:** ${g.branch || '(detached)'}`,
        '',
        '**Changes:**',
        fence(g.status),
        '',
        '**Recent commits:**',
        fence(g.recent),
        '',
      ].join('\n'),
    );
  }
  if (input.instructions?.trim()) parts.push(`## Instructions\n\n${input.instructions.trim()}\n`);
  return parts.join('\n');
}
