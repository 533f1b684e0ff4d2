import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { scanBlocks } from './claude-md.js';
import type { NodeView } from '../bus/model/snapshot.js';
import { oneLineText } from '../schemas/output-text.js';
import { claudeConfigDir, readAsset } from './plugin-files.js';

/** The full agent-facing guide that `gitbus prime` prints (claude-plugin/assets/primer.md). */
export function primerText(root?: string): string {
  return readAsset('primer.md', root);
}

/** The rules of the CLAUDE.md block (claude-plugin/assets/claude-md.md). */
export function rulesText(root?: string): string {
  return readAsset('claude-md.md', root);
}

/**
 * Whether a CLAUDE.md that Claude Code loads for a session in `cwd` already holds gitbus's block (the user's, or a
 * project's: Claude Code reads CLAUDE.md in `cwd` and in every folder above it), so that SessionStart does not repeat
 * its rules. A block is a begin and an end marker that pair up (scanBlocks): a CLAUDE.md that only mentions the
 * marker, or whose block lost its end, does not give the session the rules.
 */
export function blockInstalled(cwd: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  const files = [join(claudeConfigDir(env), 'CLAUDE.md'), ...(cwd ? foldersUp(resolve(cwd)).map((d) => join(d, 'CLAUDE.md')) : [])];
  return files.some((f) => {
    try {
      if (!existsSync(f)) return false;
      const scan = scanBlocks(readFileSync(f, 'utf8'));
      return scan.ok && scan.blocks.length > 0;
    } catch {
      return false;
    }
  });
}

/** `dir` and each folder above it, up to the root. Pure. */
function foldersUp(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; out.length < 256; ) {
    out.push(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return out;
}

/** One line per fact a session needs first: which node this machine is, and what the others offer. Pure. */
export function busFacts(node: string, remote: string, nodes: NodeView[]): string {
  const others = nodes
    .filter((n) => n.node !== node)
    .slice(0, 20)
    .map((n) => {
      const labels = n.card?.labels?.length ? ` labels ${n.card.labels.join(',')}` : '';
      const runners = n.card?.runners?.length ? ` runs ${n.card.runners.join(',')}` : '';
      return `${n.node}${labels || runners ? ` (${[labels, runners].map((s) => s.trim()).filter(Boolean).join('; ')})` : ''}`;
    });
  const more = nodes.length - 1 > others.length ? `, and ${nodes.length - 1 - others.length} more` : '';
  const lines = [`gitbus: this machine is node "${node}" on the bus ${oneLineText(remote, 200)}.`];
  lines.push(others.length ? `Other nodes: ${others.join(', ')}${more}. Liveness: gitbus status.` : 'No other node has joined the bus yet.');
  lines.push('Commands: /gitbus:dispatch, /gitbus:status, /gitbus:collect, /gitbus:fanout; gitbus prime prints the full guide.');
  return lines.join('\n');
}

/** Inside a task the watcher started (GITBUS_TASK_ID set): what the worker must do first. Pure. */
export function workerFacts(env: NodeJS.ProcessEnv): string | null {
  const id = env['GITBUS_TASK_ID'];
  if (!id || !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(id)) return null;
  const attempt = env['GITBUS_ATTEMPT'] && /^\d+$/.test(env['GITBUS_ATTEMPT']) ? ` (attempt ${env['GITBUS_ATTEMPT']})` : '';
  return `gitbus: you run inside gitbus task ${id}${attempt}. Read it first with "gitbus task"; post progress at milestones with gitbus progress "..."; end with a clear report of what you did and what is left.`;
}
