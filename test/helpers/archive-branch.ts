import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gitCli } from './cli.js';

/**
 * A person changes file `name` (`response.md`, `claim.2.md`...) of archived task `id` with plain git on the archive
 * branch of `remote`: in its month folder and in the id index's copy of it (`ids/<hh>/<id>.<yyyy-mm>/`), which
 * lookups read first. `work`: a folder for the clone, not there yet. Returns the task's archive month.
 */
export function changeArchivedFile(remote: string, work: string, id: string, name: string, change: (file: string) => void): string {
  gitCli(['clone', '-q', '-b', 'archive', remote, work]);
  const month = readdirSync(work).find((m) => /^\d{4}-\d{2}$/.test(m) && readdirSync(join(work, m)).includes(id)) ?? '';
  // ids/ holds shard folders and the `complete` marker file, in whatever order the file system lists them.
  const shard = readdirSync(join(work, 'ids'), { withFileTypes: true }).find((h) => h.isDirectory() && readdirSync(join(work, 'ids', h.name)).includes(`${id}.${month}`))?.name ?? '';
  if (month === '' || shard === '') throw new Error(`${id} is not on the archive branch of ${remote}`);
  for (const folder of [join(work, month, id), join(work, 'ids', shard, `${id}.${month}`)]) change(join(folder, name));
  gitCli(['add', '--all'], work);
  gitCli(['commit', '-q', '-m', `change ${name} of ${id}`], work);
  gitCli(['push', '-q', 'origin', 'HEAD:archive'], work);
  return month;
}
