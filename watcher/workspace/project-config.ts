import { createHash } from 'node:crypto';
import { nodeRemoteUrl, sameProjectRemote } from '../../bus/project/remote-url.js';
import type { NodeConfig } from '../../bus/home.js';

export type ProjectSettings = NonNullable<NodeConfig['projects']>[string];

export interface ResolvedProject {
  /** The URL git fetches from and pushes to. */
  url: string;
  /** The node.yaml entry that matched (by name or URL), if any. */
  name: string | null;
  settings: ProjectSettings | null;
}

/** Where a URL or path is a remote git can reach from anywhere; a bare relative path is not (relative to what?). Pure. */
export function isReachableForm(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) || url.startsWith('/') || /^[^/\s:]+:/.test(url);
}

/**
 * The remote a handoff's `repo` means on this node: the URL of the node.yaml project of that name, or the value
 * itself; the project's settings come from the entry whose name or URL matches. Pure.
 */
export function resolveProject(config: Pick<NodeConfig, 'projects' | 'projectsOnly'>, repo: string, paths: { home: string; userHome: string } = { home: '/', userHome: '/' }): ResolvedProject | { reason: string } {
  const projects = Object.entries(config.projects ?? {}).map(([name, p]) => [name, { ...p, url: nodeRemoteUrl(p.url, paths.home, paths.userHome) }] as const);
  const byName = projects.find(([name]) => name === repo);
  if (byName) return { url: byName[1].url, name: byName[0], settings: byName[1] };
  const byUrl = projects.find(([, p]) => sameRemote(p.url, repo));
  if (byUrl) return { url: byUrl[1].url, name: byUrl[0], settings: byUrl[1] };
  if (config.projectsOnly) {
    return { reason: `repo "${repo}" is not one of the projects this node works on (node.yaml projectsOnly: ${projects.map(([n]) => n).join(', ') || 'none listed'}): dispatch to a node that lists it, or add it under "projects" in this node's node.yaml` };
  }
  if (!isReachableForm(repo)) {
    return { reason: `repo "${repo}" is neither a project named in this node's node.yaml (projects: ${projects.map(([n]) => n).join(', ') || 'none'}) nor a URL or absolute path git can reach: add it under "projects" in node.yaml with its url, or dispatch with the full URL` };
  }
  return { url: repo, name: null, settings: null };
}

/**
 * Two spellings of one remote: trailing slashes, `.git` and the credentials dispatch leaves out of a handoff
 * (bus/project/remote-url.ts sameProjectRemote) do not matter. Pure.
 */
export function sameRemote(a: string, b: string): boolean {
  return sameProjectRemote(a, b);
}

/** The folder name of a project's cached clone: readable, and distinct for distinct URLs. Pure. */
export function cacheName(url: string): string {
  const last = url.replace(/\/+$/, '').replace(/\.git$/, '').split(/[/:]/).pop() ?? 'project';
  const slug = last.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+/, '').slice(0, 40) || 'project';
  return `${slug}-${createHash('sha256').update(url).digest('hex').slice(0, 12)}.git`;
}

export interface EnvFacts {
  id: string;
  branch: string;
  group?: string;
  workstream?: string;
  /** The run's slot on this node (0 to parallel-1): distinct among the runs at one time, so ports do not clash. */
  slot: number;
}

/**
 * A project's `env` with `{id}`, `{branch}`, `{group}`, `{workstream}`, `{slot}` and `{N+slot}` filled in — the
 * seed's port per workstream is `PORT: "{8000+slot}"`, which no two runs on one node share. Unknown braces stay as
 * written. Pure.
 */
export function fillEnv(env: Record<string, string> | undefined, f: EnvFacts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env ?? {})) {
    out[k] = v.replace(/\{(?:(\d+)\+)?(slot|id|branch|group|workstream)\}/g, (whole, n: string | undefined, key: string) => {
      if (key === 'slot') return String((n ? Number(n) : 0) + f.slot);
      if (n) return whole;
      const value = key === 'id' ? f.id : key === 'branch' ? f.branch : key === 'group' ? f.group : f.workstream;
      return value ?? '';
    });
  }
  return out;
}
