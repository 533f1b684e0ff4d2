import { parseBusFile } from '../schemas/bus-file.js';
import { classifyPath, isFileProblem } from '../schemas/layout.js';
import { git, gitOut, readObjects, splitZ } from './git.js';

export interface ArrivedResponse {
  id: string;
  path: string;
  /** From the response; null when it does not parse. */
  status: string | null;
  node: string | null;
  /** The title of the task's handoff, when it is in HEAD and readable. */
  title: string | null;
  /** Why the response cannot be read, when it cannot. */
  problem?: string;
}

/**
 * What the post-merge hook reports: the responses a pull or merge brought, that is the files added under
 * responses/ between ORIG_HEAD (where the branch was before) and HEAD. Empty when there is no ORIG_HEAD.
 */
export async function arrivedResponses(cwd: string): Promise<ArrivedResponse[]> {
  const opts = { cwd, hookEnv: true };
  const orig = await git(['rev-parse', '--quiet', '--verify', 'ORIG_HEAD^{commit}'], opts);
  if (orig.code !== 0) return [];
  const added = splitZ(await gitOut(['diff', '--name-only', '-z', '--no-renames', '--no-ext-diff', '--diff-filter=A', 'ORIG_HEAD', 'HEAD', '--', ':(literal)responses/'], opts));
  const ids: { id: string; path: string }[] = [];
  for (const path of added) {
    const where = classifyPath(path);
    if (where !== undefined && !isFileProblem(where) && where.kind === 'response') ids.push({ id: where.id, path });
  }
  const specs = ids.flatMap(({ id, path }) => [`HEAD:${path}`, `HEAD:handoffs/${id}.md`]);
  const blobs = await readObjects(specs, opts);
  return ids.map(({ id, path }) => {
    const out: ArrivedResponse = { id, path, status: null, node: null, title: null };
    const handoff = blobs.get(`HEAD:handoffs/${id}.md`);
    if (handoff) {
      const h = parseBusFile(`handoffs/${id}.md`, handoff);
      if (h.ok && h.kind === 'handoff') out.title = h.file.data.title;
    }
    const content = blobs.get(`HEAD:${path}`);
    const r = content ? parseBusFile(path, content) : undefined;
    if (r?.ok && r.kind === 'response') {
      out.status = r.file.data.status;
      out.node = r.file.data.node;
    } else {
      out.problem = r && !r.ok ? (r.problems.find((p) => p.severity === 'error') ?? r.problems[0])?.reason ?? 'it does not parse' : 'it is not in HEAD';
    }
    return out;
  });
}
