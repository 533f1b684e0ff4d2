import { GitbusError } from '../schemas/errors.js';
import { shellWord } from './project/shell-word.js';

/** The errors of fan-out groups (`gitbus fanout`, `group`, `cancel --group`). */

/** The fix's first words: another name, one known to be free when there is one. Pure. */
function anotherName(free: string | null): string {
  const how = 'pick another name with --group NAME (or "group:" in the plan)';
  return free ? `${how}, for example --group ${free} (no live task or project branch has it)` : `${how}, one no live task has ("gitbus status" lists them) and the project remote has no branches under (git ls-remote --heads)`;
}

/** `gitbus fanout` with a group that already has tasks on the bus: their branches `<group>/*` would be shared. */
export class GroupLiveError extends GitbusError {
  readonly code = 'GROUP_LIVE';
  /** `free`: a name no live task, queued fan-out or project branch has (null: none known to be free). */
  constructor(group: string, ids: string[], queued = false, free: string | null = null) {
    const shown = `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', ...' : ''}`;
    super(
      queued ? `group "${group}" is already queued on this node (${shown}), waiting for the remote` : `group "${group}" already has live tasks on the bus (${shown})`,
      `${anotherName(free)}; "gitbus group ${group}" shows the fan-out that has it`,
      { group, ids, queued, free },
    );
  }
}

/**
 * `gitbus fanout` under a group whose branches the project remote already has (an earlier fan-out's, archived
 * since): its workstreams would start from them, or push beside them, and the integration would meet them.
 */
export class GroupBranchesTakenError extends GitbusError {
  readonly code = 'GROUP_BRANCHES_TAKEN';
  constructor(group: string, repo: string, branches: string[], free: string | null = null) {
    const shown = `${branches.slice(0, 5).join(', ')}${branches.length > 5 ? `, +${branches.length - 5} more` : ''}`;
    super(
      `the project remote ${repo} already has branches of group "${group}" (${shown}): a fan-out under that name would build on an earlier one's work`,
      `${anotherName(free)}; or, when the earlier work is no longer wanted, delete its branches (git push ${shellWord(repo)} --delete ${branches.map(shellWord).join(' ')}) and fan out again`,
      { group, repo, branches, free },
    );
  }
}

/** `gitbus group NAME` for a name no live task has. */
export class UnknownGroupError extends GitbusError {
  readonly code = 'UNKNOWN_GROUP';
  constructor(group: string) {
    super(`no live task has group "${group}"`, 'check the name ("gitbus status" lists the tasks); a fan-out the archive took whole is shown by "gitbus group" only on the node that ran its "gitbus fanout" (which noted its tasks), and "gitbus show ID" shows each of its tasks on any node', { group });
  }
}
