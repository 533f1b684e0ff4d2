import { closeSync, readSync } from 'node:fs';
import { openRegularFile } from '../bus/open-regular.js';
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
    const text = readClaudeMd(f);
    if (text === null) return false;
    const scan = scanBlocks(text);
    return scan.ok && scan.blocks.length > 0;
  });
}

/** As much of a CLAUDE.md as the hook reads: far more than any CLAUDE.md Claude Code would load whole. */
export const CLAUDE_MD_READ_LIMIT = 1024 * 1024;

/**
 * The start of a CLAUDE.md that is a regular file (through a link: dotfiles keep it in one), or null. A cloned repo
 * can carry a CLAUDE.md that links to /dev/zero or is a FIFO, and a hook that reads one whole runs out of memory or
 * never returns, ending or hanging the user's session: it is opened without waiting for a writer, judged by what
 * was opened, and read up to CLAUDE_MD_READ_LIMIT bytes.
 */
export function readClaudeMd(file: string): string | null {
  const opened = openRegularFile(file);
  if (!opened) return null;
  try {
    const buf = Buffer.alloc(Math.min(CLAUDE_MD_READ_LIMIT, opened.size));
    let size = 0;
    while (size < buf.length) {
      const n = readSync(opened.fd, buf, size, buf.length - size, null);
      if (n === 0) break;
      size += n;
    }
    return buf.subarray(0, size).toString('utf8');
  } catch {
    return null;
  } finally {
    closeSync(opened.fd);
  }
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
  lines.push(others.length ? `Other nodes: ${others.join(', ')}${more}. Liveness: gitbus status.` : 'No other node is on the bus as this machine last saw it (gitbus status looks at the remote).');
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
