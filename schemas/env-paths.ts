/**
 * Paths of environment profiles (docs/PROTOCOL.md "env/ profiles"), pure: where a profile's file may go on a node
 * (`~/…` only, no `..`), where it is kept in the profile, and what is never synced whatever a manifest says.
 * Everything here judges text read from the bus, which anyone with push access wrote.
 */

/** A profile's name, as its folder under env/: the rule of node names. */
export const ENV_PROFILE_RE = /^[a-z0-9][a-z0-9_-]{0,39}$/;
export const ENV_PROFILE_RULE = 'a profile name: 1–40 characters of lower-case letters a–z, digits, "-" and "_", starting with a letter or digit';

/** One file of a profile is at most this big, and a whole profile at most ENV_MAX_PROFILE_BYTES in ENV_MAX_FILES files. */
export const ENV_MAX_FILE_BYTES = 1024 * 1024;
export const ENV_MAX_PROFILE_BYTES = 8 * 1024 * 1024;
export const ENV_MAX_FILES = 1000;
/** Folders deeper than this under a target are neither captured nor applied. */
export const ENV_MAX_DEPTH = 12;
const MAX_PATH_CHARS = 1024;

/** Code points HFS+ ignores in a name, so that git treats `.g\u200cit` as `.git` on macOS (git's utf8.c next_hfs_char). */
const HFS_IGNORED = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/**
 * git's is_ntfs_dotgit (path.c): `.git` or its 8.3 short name `git~1`, in any ASCII letter case, then only dots and
 * spaces (NTFS drops them at a name's end) up to the end, a "/" or "\\" (a folder on Windows), or a ":" (an
 * alternate data stream: `.git::$INDEX_ALLOCATION` is the folder itself).
 */
function isNtfsDotGit(name: string): boolean {
  return /^(?:\.[gG][iI][tT]|[gG][iI][tT]~1)[. ]*(?:$|[\\/:])/.test(name);
}

/**
 * git's is_hfs_dotgit (utf8.c): `.git` in any ASCII letter case (only ASCII: git clamps there) once the code points
 * HFS+ ignores are removed, anywhere in the name, then the end or a "/". No dots or spaces dropped: HFS+ keeps them.
 */
function isHfsDotGit(name: string): boolean {
  return /^\.[gG][iI][tT](?:$|\/)/.test(name.replace(HFS_IGNORED, ''));
}

/**
 * Whether git refuses `segment` as a name in a tree, as `.git` (read-cache.c verify_path with core.protectNTFS and
 * core.protectHFS, which fsck checks everywhere as hasDotgit): what HFS+ or NTFS take for `.git` (above); and after
 * each "\\" in it, which git takes for a folder separator in NTFS's rules on every system, what NTFS does. A
 * profile holding one cannot be checked out, and applied it would write into a repository's own folder.
 */
export function isGitDirName(segment: string): boolean {
  return isHfsDotGit(segment) || segment.split('\\').some(isNtfsDotGit);
}

/** One segment of a path: not empty, `.` or `..`, not `.git`, no `/`, `\` or control character, no white space at either end. */
export function whyNotSegment(segment: string): string | undefined {
  if (segment === '') return 'it has an empty part ("//" or a trailing "/")';
  if (segment === '.' || segment === '..') return `it has a "${segment}" part`;
  if (isGitDirName(segment)) return `it has a part git reads as ".git" (${JSON.stringify(segment)}), which no git repository may hold`;
  // File systems count a name's bytes (UTF-8), not its characters: 200 × "é" is 400 bytes, too long for ext4 and APFS.
  if (new TextEncoder().encode(segment).byteLength > 255) return 'a part is longer than 255 bytes (in UTF-8)';
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(segment)) return 'it contains a control character';
  if (segment.includes('\\')) return 'it contains "\\"';
  if (segment.trim() !== segment) return 'a part starts or ends with white space';
  return undefined;
}

function whyNotRelative(rel: string): string | undefined {
  if (rel.length > MAX_PATH_CHARS) return `it is longer than ${MAX_PATH_CHARS} characters`;
  const parts = rel.split('/');
  if (parts.length > ENV_MAX_DEPTH + 4) return `it is more than ${ENV_MAX_DEPTH + 4} folders deep`;
  for (const p of parts) {
    const why = whyNotSegment(p);
    if (why !== undefined) return why;
  }
  return undefined;
}

/** Why `target` is not a place a profile may write: it must be `~/` and a relative path inside the home. */
export function whyNotTarget(target: string): string | undefined {
  if (!target.startsWith('~/')) return target.startsWith('/') ? 'it is an absolute path; targets are inside the home folder, written ~/…' : 'it does not start with ~/';
  const rel = target.slice(2);
  if (rel === '') return 'it is the home folder itself';
  return whyNotRelative(rel);
}

/** Why `source` is not a path inside a profile's files/ folder. */
export function whyNotSource(source: string): string | undefined {
  if (source.startsWith('/')) return 'it starts with "/"; sources are relative to the profile\'s files/ folder';
  return whyNotRelative(source);
}

export const TARGET_RULE = 'a path inside the home folder: ~/ then names separated by "/", without ".", ".." or ".git" parts, for example ~/.claude/CLAUDE.md';
export const SOURCE_RULE = 'a path inside the profile\'s files/ folder: names separated by "/", without ".", ".." or ".git" parts, for example home/.zshrc';

/** `~/a/b` → `a/b`. Expects a valid target. */
export function targetRel(target: string): string {
  return target.slice(2);
}

/**
 * A name as a case-insensitive file system takes it, to compare with the names never synced: NFC-normalised, what
 * HFS+ ignores removed, then upper- and lower-cased. Lower-casing alone misses letters whose lower case is not their
 * upper case's: "ſ" (U+017F, long s) upper-cases to "S", and APFS's case folding takes ~/.ſsh for ~/.ssh; the Kelvin
 * sign K lower-cases to "k". Wider than Unicode's case folding ("ı" comes out "i"), which only makes more names never
 * synced, never fewer.
 */
export function caseFold(name: string): string {
  return name.normalize('NFC').replace(HFS_IGNORED, '').toUpperCase().toLowerCase().normalize('NFC');
}

/** Folders of ~/.claude that hold one machine's sessions, history and caches (Claude Code's own state). */
const CLAUDE_SESSION_DATA = new Set(['projects', 'todos', 'statsig', 'shell-snapshots', 'ide', 'logs', 'session-env', 'file-history', 'debug', 'telemetry', 'history.jsonl', 'plugins']);
/** Folders and files that hold credentials. */
const CREDENTIAL_STORES = new Set(['.ssh', '.gnupg', '.aws', '.azure', '.kube', '.netrc', '.git-credentials', '.pgpass', '.password-store']);

/**
 * Why `rel` (relative to the home) is gitbus's bus home in use or inside it, or undefined. `busHome`: where the bus
 * home is, relative to the user's home (as given and with links resolved, bus/env/local.ts ownHome), '' for the home
 * itself; empty when it is outside the home. GITBUS_HOME or --home may put it anywhere, ~/work/gb-home too.
 */
export function inBusHome(rel: string, busHome: readonly string[]): string | undefined {
  const folded = caseFold(rel);
  for (const b of busHome) {
    const own = caseFold(b);
    if (own === '' || folded === own || folded.startsWith(`${own}/`)) {
      return `gitbus's bus home in use (${b === '' ? 'the home folder itself' : `~/${b}`}: this node's name, clone, state and key) belongs to its machine`;
    }
  }
  return undefined;
}

/**
 * Why the file at `rel` (relative to the home) is never synced, whatever a manifest says, or undefined: Claude
 * Code's own state and its local settings, session data, credential stores (README "Keeping every node's setup in
 * step"), and gitbus's bus home: ~/.gitbus, and the one in use wherever it is (`busHome`, as inBusHome takes it).
 * Checked on capture and on apply.
 */
export function neverSynced(rel: string, busHome: readonly string[] = []): string | undefined {
  const own = inBusHome(rel, busHome);
  if (own !== undefined) return own;
  // Compared case-folded and NFC-normalised (caseFold): on a case-insensitive file system (macOS APFS, Windows)
  // ~/.SSH and ~/.ſsh are ~/.ssh, and a name in NFD is the same file as in NFC.
  const parts = caseFold(rel).split('/');
  const first = parts[0] ?? '';
  const name = parts[parts.length - 1] ?? '';
  if (first === '.claude.json' || first.startsWith('.claude.json.')) return 'Claude Code\'s own state (~/.claude.json: account, per-project settings and history) stays on its machine';
  if (name === 'settings.local.json') return 'local settings (settings.local.json) stay on their machine by design';
  if (first === '.claude' && parts.length > 1) {
    const second = parts[1] ?? '';
    if (second === '.credentials.json') return 'Claude Code\'s credentials stay on their machine';
    if (CLAUDE_SESSION_DATA.has(second)) return `Claude Code's session data (~/.claude/${second}) belongs to one machine`;
    // Settings backups and the record of what they held before setup, which name this machine's files.
    if (second === 'gitbus-backups') return '`gitbus setup claude`\'s backups and records (~/.claude/gitbus-backups) belong to this machine';
  }
  // gitbus's own bus home (the default one): another node's node.yaml would give this node its name, its clone.git
  // and state.json belong to one machine, and keys/ holds the node's private key.
  if (first === '.gitbus') return 'gitbus\'s bus home (~/.gitbus: this node\'s name, clone, state and key) belongs to its machine';
  if (CREDENTIAL_STORES.has(first)) return `${first} holds credentials, which never go on the bus`;
  if (first === '.docker' && parts[1] === 'config.json') return 'Docker\'s config.json holds registry credentials';
  if (first === '.config' && parts[1] === 'gh' && parts[2] === 'hosts.yml') return 'GitHub CLI\'s hosts.yml holds its tokens';
  if (first === '.config' && parts[1] === 'gcloud' && parts.length > 2) return 'the Google Cloud SDK\'s folder (~/.config/gcloud) holds its access tokens';
  if (/credential/i.test(name)) return 'its name says it holds credentials';
  // `gitbus setup claude` keeps the settings.json it replaced beside it, and a write stages a temp file there.
  if (/\.gitbus-backup-[^/]*$/.test(name)) return 'a backup gitbus wrote on this machine (*.gitbus-backup-*) belongs to it';
  // .gitbus-tmp-<pid>-<hex> now; .gitbus-tmp-<hex> and .NAME.gitbus-<pid>-<hex>.tmp before, which a write that was
  // killed may have left.
  if (/^\.gitbus-tmp-(?:\d+-)?[0-9a-f]+$/.test(name) || /^\..+\.gitbus-\d+-[0-9a-f]+\.tmp$/.test(name)) return 'a temporary file gitbus writes while it replaces a file (.gitbus-tmp-<pid>-<hex>)';
  return undefined;
}

/** Why a file's name says it holds a secret (a key, a token file), or undefined. */
export function secretName(raw: string): string | undefined {
  const name = caseFold(raw);
  if (name === '.env' || name.startsWith('.env.') || name.endsWith('.env')) return 'a .env file holds secrets';
  if (/credential/i.test(name)) return 'its name says it holds credentials';
  if (/^id_[a-z0-9_-]+$/i.test(name)) return 'it looks like an SSH private key (id_*)';
  if (name === '.netrc' || name === '_netrc' || name === '.git-credentials' || name === '.pgpass') return `${name} holds passwords`;
  if (/\.(pem|key|p12|pfx|keystore|jks)$/i.test(name)) return `a ${name.slice(name.lastIndexOf('.'))} file holds a key or certificate with its key`;
  return undefined;
}

/** Node's platform names, plus `macos` for darwin: what an entry's `os:` may name. */
export const ENV_OS = ['linux', 'darwin', 'macos', 'freebsd', 'openbsd', 'win32'] as const;
export type EnvOs = (typeof ENV_OS)[number];

/** Whether an entry's `os:` list names this platform (`process.platform`). */
export function osMatches(list: readonly string[], platform: string): boolean {
  return list.includes(platform) || (platform === 'darwin' && list.includes('macos'));
}
