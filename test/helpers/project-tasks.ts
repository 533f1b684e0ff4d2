import { expect } from 'vitest';
import { parse } from 'yaml';
import { gitbus, json } from './cli.js';
import { showInProcess } from './in-process.js';

/**
 * Reading what project tasks did, for the tests that run them on nodes: the response a node wrote back, read in the
 * test's process (test/helpers/in-process.ts), and one `watch --once` of a node.
 */
export type ProjectReport = { repo: string; branch: string; baseCommit: string; headCommit: string; pushed: boolean; pushError?: string; commits?: number; subjects?: string[]; files?: number; insertions?: number; deletions?: number };
export type Shown = { state: string; files: { path: string; text: string }[] };

/** A markdown file's YAML frontmatter. */
export function frontmatterOf(text: string): Record<string, unknown> {
  return parse(text.split('---\n')[1] ?? '') as Record<string, unknown>;
}

/** What `gitbus show ID --json` says on the node at `home`. */
export function shownOn(home: string, id: string): Promise<Shown> {
  return showInProcess<Shown>(home, id);
}

/** The response of a task, as the node at `home` reads it: its frontmatter and whole text. */
export async function responseOn(home: string, id: string): Promise<{ data: Record<string, unknown> & { project?: ProjectReport; status: string; reason?: string }; body: string }> {
  const file = (await shownOn(home, id)).files.find((f) => f.path.startsWith('responses/'));
  if (!file) throw new Error(`${id} has no response`);
  return { data: frontmatterOf(file.text) as never, body: file.text };
}

/** One `watch --once --json` of the node at `home`: what it ran. */
export async function watchOnceRan(home: string, env: NodeJS.ProcessEnv = {}): Promise<{ id: string; status: string }[]> {
  const r = await gitbus(['watch', '--once', '--json'], { home, env, timeoutMs: 90_000 });
  expect(r.code, r.stderr).toBe(0);
  return json<{ ran: { id: string; status: string }[] }>(r).ran;
}
