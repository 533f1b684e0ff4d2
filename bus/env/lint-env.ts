import type { FileProblem } from '../../schemas/errors.js';
import { ENV_PROFILE_RULE } from '../../schemas/env-paths.js';
import { ENV_FOLDER } from '../../schemas/signature-layout.js';
import type { Snapshot } from '../model/snapshot.js';
import { envTreeOid, listProfiles, readProfile } from './profile.js';

/** `gitbus lint`'s look at env/: every profile checked as a node would before applying it; stray entries named. */
export async function envProblems(snap: Snapshot): Promise<FileProblem[]> {
  const env = await envTreeOid(snap);
  if (!env) return [];
  const profiles = await listProfiles(snap);
  const out: FileProblem[] = [];
  for (const e of await snap.store.readTree(env)) {
    if (!profiles.includes(e.path)) out.push({ path: `${ENV_FOLDER}/${e.path}`, field: '', reason: e.type === 'tree' ? `"${e.path}" is not a profile name` : 'env/ holds only profile folders', fix: `rename it to ${ENV_PROFILE_RULE}, or move it out of env/`, severity: 'warning' });
  }
  for (const name of profiles) {
    const r = await readProfile(snap, name);
    if (r.found && !r.ok) out.push(...r.problems);
    else if (r.found && r.ok) out.push(...r.profile.warnings);
  }
  return out;
}
