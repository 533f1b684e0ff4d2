import { fs } from '../node-fs.js';
import type { Stats } from 'node:fs';
import { dispatchedPath } from '../dispatched-ledger.js';
import { ledgerPath } from '../spend-ledger.js';
import { groupsPath } from '../groups-ledger.js';
import { ok, warn, type Check } from './doctor-check.js';

/**
 * `home.ledgers`: the home's bookkeeping files, which gitbus writes without ever failing a command for them (the
 * command's own work is done by then), so that damage to them is otherwise silent: `dispatched.jsonl` (what this
 * home dispatched, for `collect`), `claude-spend.jsonl` (what its claude runs spent, for the daily cap) and
 * `groups.jsonl` (the fan-outs it made, for `group` once they are archived). A folder
 * or another kind of file in their place, or one this user may not read and write, is a warning with what it costs.
 */
export function ledgersCheck(home: string): Check {
  const ledgers = [
    { file: dispatchedPath(home), cost: 'tasks this home dispatches are not noted, so "gitbus collect" misses those that end and are archived between two collects' },
    { file: ledgerPath(home), cost: "claude runs' spending is not recorded, so the node's daily spending cap (claude.maxSpendUsdPerDay) does not see it" },
    { file: groupsPath(home), cost: 'fan-outs this home makes are not noted, so "gitbus group NAME" cannot show one once the archive has taken it whole' },
  ];
  const problems: { what: string; cost: string; file: string }[] = [];
  for (const l of ledgers) {
    let st: Stats | undefined;
    try {
      st = fs.statSync(l.file, { throwIfNoEntry: false });
    } catch (err) {
      problems.push({ what: `${l.file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, cost: l.cost, file: l.file });
      continue;
    }
    if (st === undefined) continue;
    if (!st.isFile()) {
      problems.push({ what: `${l.file} is ${st.isDirectory() ? 'a folder' : 'not a regular file'}`, cost: l.cost, file: l.file });
      continue;
    }
    try {
      fs.accessSync(l.file, fs.constants.R_OK | fs.constants.W_OK);
    } catch {
      problems.push({ what: `${l.file} may not be read and written by this user`, cost: l.cost, file: l.file });
    }
  }
  if (problems.length === 0) return ok('home.ledgers', 'dispatched.jsonl, claude-spend.jsonl and groups.jsonl are files gitbus can write (or not made yet)');
  return warn(
    'home.ledgers',
    problems.map((p) => `${p.what}: ${p.cost}`).join('; '),
    `move ${problems.map((p) => p.file).join(' and ')} out of the way (gitbus makes a new file at its next write)${problems.some((p) => p.what.includes('read and written')) ? ", or give this user read and write access to it" : ''}`,
  );
}
