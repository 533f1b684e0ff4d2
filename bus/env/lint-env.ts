import type { FileProblem } from '../../schemas/errors.js';
import { ENV_PROFILE_RULE } from '../../schemas/env-paths.js';
import { ENV_FOLDER } from '../../schemas/signature-layout.js';
import { envTreeOid, listProfiles, readProfile, type EnvTrees } from './profile.js';

/**
 * `gitbus lint`'s look at env/: every profile checked as a node would before applying it; stray entries named.
 * With `only`, the profiles (and stray entries) of those names alone: those a commit touches.
 */
export async function envProblems(snap: EnvTrees, only?: ReadonlySet<string>): Promise<FileProblem[]> {
  const env = await envTreeOid(snap);
  if (!env) return [];
  const profiles = await listProfiles(snap);
  const out: FileProblem[] = [];
  for (const e of await snap.store.readTree(env)) {
    if (only && !only.has(e.path)) continue;
    if (!profiles.includes(e.path)) out.push({ path: `${ENV_FOLDER}/${e.path}`, field: '', reason: e.type === 'tree' ? `"${e.path}" is not a profile name` : 'env/ holds only profile folders', fix: `rename it to ${ENV_PROFILE_RULE}, or move it out of env/`, severity: 'warning' });
  }
  for (const name of profiles) {
    if (only && !only.has(name)) continue;
    const r = await readProfile(snap, name);
    if (r.found && !r.ok) out.push(...r.problems);
    else if (r.found && r.ok) out.push(...r.profile.warnings);
  }
  return out;
}
