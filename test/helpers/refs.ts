import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitCli } from './cli.js';

/**
 * Refs of a local repository read from its files, without a git process: a test polling a bare remote every few
 * hundred milliseconds started a git process (and forked its own worker) at every poll. Loose refs win over
 * packed-refs, as in git; a ref being replaced is renamed into place, so a read sees the old value or the new one.
 */
export function readRefs(gitDir: string, prefix: string): Map<string, string> {
  // A repository that is not there (moved away for an outage) has no refs to tell, not none.
  if (!existsSync(gitDir)) throw new Error(`no repository at ${gitDir}`);
  const out = new Map<string, string>();
  const packed = join(gitDir, 'packed-refs');
  if (existsSync(packed)) {
    for (const line of readFileSync(packed, 'utf8').split('\n')) {
      const [oid, ref] = line.split(' ');
      if (oid && ref?.startsWith(prefix)) out.set(ref.slice(prefix.length), oid);
    }
  }
  const walk = (dir: string, name: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // no loose refs there
    }
    for (const e of entries) {
      if (e.name.endsWith('.lock')) continue;
      if (e.isDirectory()) walk(join(dir, e.name), `${name}${e.name}/`);
      else {
        try {
          out.set(`${name}${e.name}`, readFileSync(join(dir, e.name), 'utf8').trim());
        } catch {
          // packed and pruned between the listing and the read: the packed value stands
        }
      }
    }
  };
  walk(join(gitDir, prefix), '');
  return out;
}

/** The commit `main` of a bare repository points at, or null when it has none. */
export function mainOf(gitDir: string): string | null {
  return readRefs(gitDir, 'refs/heads/').get('main') ?? null;
}

/**
 * The names in folder `folder` of main's tree (`responses/x.md`, ...), listed again only when main moved: for
 * waits that poll a bare remote until some files are there.
 */
export function mainListing(gitDir: string, folder: string): () => string[] {
  let at: string | null = null;
  let names: string[] = [];
  return () => {
    const head = mainOf(gitDir);
    if (head === null) return [];
    if (head !== at) {
      names = gitCli(['--git-dir', gitDir, 'ls-tree', '--name-only', head, `${folder}/`]).split('\n').filter(Boolean);
      at = head;
    }
    return names;
  };
}

/**
 * Writes a heartbeat for `node` straight into the bare remote, as its watcher would have written it `ageMs` ago.
 * `entries`: more lines of its `logs` tree as `git mktree` takes them (a hostile node's folder, link or submodule).
 */
export function writeHeartbeat(remote: string, node: string, ageMs: number, logs: Record<string, string> = {}, entries: string[] = []): void {
  gitCli(['--git-dir', remote, 'update-ref', `refs/gitbus/heartbeats/${node}`, heartbeatCommit(remote, node, ageMs, logs, entries)]);
}

/** A heartbeat commit for `node` dated `ageMs` ago, stored in the bare remote and not (yet) on any ref. */
export function heartbeatCommit(remote: string, node: string, ageMs: number, logs: Record<string, string> = {}, entries: string[] = []): string {
  const time = new Date(Date.now() - ageMs).toISOString();
  const blob = gitCli(['--git-dir', remote, 'hash-object', '-w', '--stdin'], undefined, `# gitbus heartbeat: rewritten by its node every beat\nnode: ${node}\ntime: ${time}\npid: 4242\nrunning: []\n`).trim();
  // `logs/<id>.<attempt>.log` as given (a test's hostile one may be of any size).
  const logLines = Object.entries(logs).map(([name, text]) => `100644 blob ${gitCli(['--git-dir', remote, 'hash-object', '-w', '--stdin'], undefined, text).trim()}\t${name}\n`);
  const lines = [...logLines, ...entries.map((e) => `${e}\n`)];
  // --missing: a submodule's commit is nowhere in the remote, as a hostile node's would not be.
  const logTree = lines.length ? `040000 tree ${gitCli(['--git-dir', remote, 'mktree', '--missing'], undefined, lines.join('')).trim()}\tlogs\n` : '';
  const tree = gitCli(['--git-dir', remote, 'mktree'], undefined, `100644 blob ${blob}\theartbeat.yaml\n${logTree}`).trim();
  return gitCli(['--git-dir', remote, 'commit-tree', tree, '-m', `gitbus: heartbeat ${node}`]).trim();
}
