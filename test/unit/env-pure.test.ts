import { describe, expect, it } from 'vitest';
import { parseEnvManifest, renderEnvManifest, type EnvManifest } from '../../schemas/env-manifest.js';
import { neverSynced, secretName, whyNotTarget } from '../../schemas/env-paths.js';
import { envManifestPath, envProfileOfManifest, classifySignaturePath } from '../../schemas/signature-layout.js';
import { signedKindOf, sidecarPathFor, NAMESPACES } from '../../bus/trust/messages.js';
import { resolveProfile } from '../../bus/env/resolve.js';
import { cardEnvOf, decide, fileState } from '../../bus/env/states.js';
import { keysCommand } from '../../bus/env/hint-commands.js';
import { mergeJson, parseJsonObject, pickKeys, renderJson } from '../../bus/env/json-merge.js';
import { keysHash } from '../../bus/env/hash.js';
import { scanSecrets } from '../../bus/env/secrets.js';
import { ownHome } from '../../bus/env/local.js';
import { unifiedDiff } from '../../bus/env/diff-text.js';
import { nodeCardSchema } from '../../schemas/node-card.js';

const SHA = 'a'.repeat(64);
const file = (size = 1) => ({ sha256: SHA, size });
const manifest = (m: Partial<EnvManifest>): EnvManifest => ({ format: 1, entries: [], files: {}, ...m });
const parse = (m: unknown) => parseEnvManifest('env/p/manifest.yaml', Buffer.from(typeof m === 'string' ? m : JSON.stringify(m)));

describe('env manifest', () => {
  it('reads what it writes', () => {
    const m = manifest({ entries: [{ source: 'home/.zshrc', target: '~/.zshrc' }, { source: 'home/.claude/settings.json', target: '~/.claude/settings.json', merge: 'json', keys: ['hooks'] }], files: { 'home/.zshrc': file(), 'home/.claude/settings.json': file(2) } });
    const r = parseEnvManifest('env/p/manifest.yaml', Buffer.from(renderEnvManifest(m)));
    expect(r.ok && r.manifest).toEqual(m);
  });

  it('puts targets inside the home only: no absolute paths, no "..", no home itself', () => {
    expect(whyNotTarget('~/.claude/CLAUDE.md')).toBeUndefined();
    expect(whyNotTarget('/etc/passwd')).toMatch(/absolute/);
    expect(whyNotTarget('~/../x')).toMatch(/".." part/);
    expect(whyNotTarget('~/a/./b')).toMatch(/"\." part/);
    expect(whyNotTarget('~/')).toMatch(/home folder itself/);
    expect(whyNotTarget('.zshrc')).toMatch(/~\//);
    // What git reads as .git (its is_ntfs_dotgit and is_hfs_dotgit): no git repository may hold such a path.
    for (const part of ['.git', '.GIT', '.Git..', '.git. .', 'GIT~1', '.g\u200cit', '\ufeff.git']) expect(whyNotTarget(`~/skill/${part}/HEAD`), part).toMatch(/git reads as "\.git"/);
    for (const part of ['.github', '.gitconfig', 'git', '.git-hooks', 'git~2']) expect(whyNotTarget(`~/skill/${part}/x`), part).toBeUndefined();
    for (const target of ['/etc/passwd', '~/../../etc/x', '~/a//b']) {
      const r = parse({ format: 1, entries: [{ source: 'a', target }], files: { a: file() } });
      expect(r.ok, target).toBe(false);
    }
    expect(parse({ format: 1, entries: [{ source: '../a', target: '~/a' }], files: {} }).ok).toBe(false);
  });

  it('is strict: unknown fields, a folder merged by JSON, overlapping targets and ambiguous variants are errors', () => {
    const bad: [unknown, RegExp][] = [
      [{ format: 1, entries: [], files: {}, extra: 1 }, /extra/],
      [{ format: 1, entries: [{ source: 'd', target: '~/d', kind: 'dir', merge: 'json' }], files: {} }, /merge: json is for a file/],
      [{ format: 1, entries: [{ source: 'd', target: '~/.claude', kind: 'dir' }, { source: 'f', target: '~/.claude/CLAUDE.md' }], files: { f: file() } }, /overlap/],
      [{ format: 1, entries: [{ source: 'a', target: '~/x' }, { source: 'b', target: '~/x' }], files: { a: file(), b: file() } }, /same systems and nodes/],
      [{ format: 1, entries: [{ source: 'a', target: '~/x' }], files: {} }, /not among the profile's files/],
      [{ format: 1, entries: [], files: { a: file(), 'a/b': file() } }, /file and also holds/],
      [{ format: 1, entries: [], files: { a: { sha256: 'x', size: 1 } } }, /sha256/],
      ['format: 1\nentries: []\nfiles: {}\nformat: 1\n', /twice/],
    ];
    for (const [m, why] of bad) {
      const r = parse(m);
      expect(r.ok, JSON.stringify(m)).toBe(false);
      if (!r.ok) expect(r.problems.map((p) => `${p.field} ${p.reason}`).join('\n')).toMatch(why);
    }
  });

  it('names the wrong value it got, not "missing" or "nothing"', () => {
    const r = parse({ format: 1, entries: [{ source: 'rc', target: '~/.profile', os: ['beos'] }], files: { rc: { ...file(), executable: 'yes' } } });
    expect(r.ok).toBe(false);
    const text = r.ok ? '' : r.problems.map((p) => `${p.field}: ${p.reason}`).join('\n');
    expect(text).not.toMatch(/got nothing|is missing/);
    expect(text).toMatch(/entries\.0\.os\.0: .*beos/);
    expect(text).toMatch(/files\.rc\.executable: .*yes/);
  });

  it('warns about entries that are never synced, which nodes skip', () => {
    const r = parse({ format: 1, entries: [{ source: 'a', target: '~/.claude.json' }, { source: 'b', target: '~/.ssh/config' }], files: { a: file(), b: file() } });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.warnings.map((w) => w.reason).join('\n')).toMatch(/~\/\.claude\.json is never synced[\s\S]*~\/\.ssh\/config is never synced/);
  });

  it('never syncs credentials, ~/.claude.json, settings.local.json or session data', () => {
    for (const rel of ['.claude.json', '.claude.json.backup', '.claude/settings.local.json', 'proj/.claude/settings.local.json', '.claude/.credentials.json', '.claude/projects/x/y.jsonl', '.claude/todos/a.json', '.claude/history.jsonl', '.ssh/id_ed25519', '.aws/credentials', '.netrc', '.git-credentials', '.config/gh/hosts.yml', '.docker/config.json']) {
      expect(neverSynced(rel), rel).toBeDefined();
    }
    for (const rel of ['.claude/CLAUDE.md', '.claude/settings.json', '.claude/commands/review.md', '.zshrc', '.gitconfig']) expect(neverSynced(rel), rel).toBeUndefined();
    // The temp file a write stages beside its file, as named now and by an older gitbus.
    for (const rel of ['.claude/.gitbus-tmp-0a1b2c3d4e5f', '.claude/.gitbus-tmp-4242-0a1b2c3d4e5f', '.zshrc.gitbus-backup-20260101', '.claude/.settings.json.gitbus-123-abcdef.tmp', '.claude/gitbus-backups/settings.json.before-gitbus-setup.json']) expect(neverSynced(rel), rel).toMatch(/gitbus/);
    for (const rel of ['.gitbus-tmp-notes', 'gitbus-tmp-0a1b']) expect(neverSynced(rel), rel).toBeUndefined();
    for (const name of ['.env', '.env.local', 'prod.env', 'aws-credentials', 'id_rsa', 'server.pem', 'tls.key']) expect(secretName(name), name).toBeDefined();
    for (const name of ['id_rsa.pub', 'review.md', '.zshrc']) expect(secretName(name), name).toBeUndefined();
  });

  it('compares names as a case-insensitive file system does: ~/.SSH is ~/.ssh, ~/.Claude/.credentials.json is the credentials', () => {
    for (const rel of ['.SSH/authorized_keys', '.Claude/.credentials.json', '.CLAUDE.json', '.claude/Projects/x.jsonl', '.Aws/config', '.config/GH/hosts.yml', '.config/gcloud/access_tokens.db', 'x/Settings.Local.json', `.s${'s'}h/config`.normalize('NFD')]) {
      expect(neverSynced(rel), rel).toBeDefined();
    }
    for (const name of ['.ENV', 'ID_RSA', 'Server.PEM']) expect(secretName(name), name).toBeDefined();
  });

  it('folds case as APFS does, not by lower-casing alone: ~/.ſsh (long s, U+017F, upper-cased S) is ~/.ssh', () => {
    // What toLowerCase leaves as it is: ſ stays ſ, so ".ſsh" !== ".ssh" lower-cased.
    expect('.ſsh'.toLowerCase()).not.toBe('.ssh');
    for (const rel of ['.ſsh/config', '.ſſh/id_ed25519', '.SSH/config', '.ſSH/known_hosts', '.claude/ſtatſig/x', '.claude/seſſion-env/a', '.gnupg'.replace('g', 'G'), '.paſſword-store/x.gpg', '.\u212Aube/config', '.s\u200csh/config']) {
      expect(neverSynced(rel), JSON.stringify(rel)).toBeDefined();
    }
    expect(neverSynced('.ſsh/config')).toBe('.ssh holds credentials, which never go on the bus');
    for (const name of ['.pgpaſſ', '.netrc'.toUpperCase(), 'ſerver.PEM', 'app.\u212Aey', 'id_rſa']) expect(secretName(name), name).toBeDefined();
    for (const rel of ['.zshrc', '.sshrc-not', 'notes/ssh.md']) expect(neverSynced(rel), rel).toBeUndefined();
  });

  it('never syncs the bus home in use wherever it is under the home, in any case, and nothing beside it', () => {
    const own = ['work/gb-home'];
    for (const rel of ['work/gb-home', 'work/gb-home/node.yaml', 'Work/GB-Home/keys/node', 'work/gb-home/clone.git/HEAD']) expect(neverSynced(rel, own), rel).toMatch(/^gitbus's bus home in use \(~\/work\/gb-home: /);
    for (const rel of ['work/gb-home2/x', 'work/gb', 'work/notes.md']) expect(neverSynced(rel, own), rel).toBeUndefined();
    expect(neverSynced('work/gb-home/node.yaml')).toBeUndefined();
    expect(neverSynced('.zshrc', [''])).toMatch(/\(the home folder itself: /);
  });

  it('finds the bus home under the home even when its name starts with two dots', () => {
    expect(ownHome('/home/u', '/home/u/..gb').rels).toEqual(['..gb']);
    expect(ownHome('/home/u', '/home/u/work/..x/gb').rels).toEqual(['work/..x/gb']);
    expect(ownHome('/home/u', '/home/other/gb').rels).toEqual([]);
  });

  it('counts a name\'s length in UTF-8 bytes, as file systems do', () => {
    expect(whyNotTarget(`~/${'é'.repeat(127)}`)).toBeUndefined();
    expect(whyNotTarget(`~/${'é'.repeat(200)}`)).toMatch(/longer than 255 bytes/);
  });

  it('signs a profile through its manifest, in a namespace of its own', () => {
    expect(envManifestPath('claude')).toBe('env/claude/manifest.yaml');
    expect(() => envManifestPath('../x')).toThrow(/not a profile name/);
    expect(envProfileOfManifest('env/claude/manifest.yaml')).toBe('claude');
    expect(envProfileOfManifest('env/claude/files/x')).toBeUndefined();
    expect(signedKindOf('env/claude/manifest.yaml')).toBe('env');
    expect(NAMESPACES.env).toBe('gitbus-env@v1');
    expect(sidecarPathFor('env/claude/manifest.yaml')).toBe('signatures/env/claude/manifest.yaml.sig');
    expect(classifySignaturePath('signatures/env/claude/manifest.yaml.sig')).toEqual({ signed: 'env/claude/manifest.yaml', signer: null });
    expect(classifySignaturePath('signatures/env/claude/files/x.sig')).toMatchObject({ reason: expect.stringMatching(/only a profile's manifest is signed/) });
  });
});

describe('variants', () => {
  const m = manifest({
    entries: [
      { source: 'home/.gitconfig', target: '~/.gitconfig' },
      { source: 'os/darwin/.gitconfig', target: '~/.gitconfig', os: ['macos'] },
      { source: 'node/gpu/.gitconfig', target: '~/.gitconfig', nodes: ['gpu'] },
      { source: 'home/.claude/commands', target: '~/.claude/commands', kind: 'dir' },
      { source: 'x1', target: '~/x', nodes: ['a', 'b'] },
      { source: 'x2', target: '~/x', nodes: ['a'] },
    ],
    files: { 'home/.gitconfig': file(), 'os/darwin/.gitconfig': file(), 'node/gpu/.gitconfig': file(), 'home/.claude/commands/review.md': file(), 'home/.claude/commands/sub/deep.md': file(), 'home/.claude/commands/.env': file(), x1: file(), x2: file() },
  });
  const source = (node: string, platform: string) => resolveProfile(m, { node, platform }).items.find((i) => i.target === '~/.gitconfig')?.source;

  it('picks the most specific entry: the node, then the system, then the default', () => {
    expect(source('gpu', 'darwin')).toBe('node/gpu/.gitconfig');
    expect(source('mac', 'darwin')).toBe('os/darwin/.gitconfig');
    expect(source('box', 'linux')).toBe('home/.gitconfig');
  });

  it('expands a folder into its files and skips what looks like a secret; an ambiguous target is skipped with the reason', () => {
    const r = resolveProfile(m, { node: 'a', platform: 'linux' });
    expect(r.items.map((i) => i.target)).toEqual(expect.arrayContaining(['~/.claude/commands/review.md', '~/.claude/commands/sub/deep.md']));
    expect(r.skipped.map((s) => s.target)).toEqual(expect.arrayContaining(['~/.claude/commands/.env', '~/x']));
    expect(r.dirs).toEqual(['~/.claude/commands']);
  });
});

describe('four states by content hash', () => {
  const s = (bus: string, local: string | null, last?: string) => fileState({ bus, local, localAtLast: local, last });
  it('tells in sync, changed here, changed in the bus, conflict and missing apart', () => {
    expect(s('B', 'B', 'A')).toBe('in-sync');
    expect(s('B', 'B')).toBe('in-sync');
    expect(s('B', 'L', 'B')).toBe('changed-here');
    expect(s('B', 'A', 'A')).toBe('changed-in-bus');
    expect(s('B', 'L', 'A')).toBe('conflict');
    expect(s('B', null, 'A')).toBe('missing-here');
    // A file the node had before it ever synced, with other content: never overwritten silently (chezmoi #1551).
    expect(s('B', 'L')).toBe('conflict');
  });

  it('replaces a file changed here only with --force, and never a link', () => {
    expect(decide('changed-in-bus', { profile: 'claude', force: false }).action).toBe('write');
    expect(decide('missing-here', { profile: 'claude', force: false }).action).toBe('write');
    expect(decide('changed-here', { profile: 'claude', force: false })).toMatchObject({ action: 'none', held: expect.stringMatching(/--force/) });
    expect(decide('conflict', { profile: 'claude', force: false }).action).toBe('none');
    expect(decide('conflict', { profile: 'claude', force: true }).action).toBe('write');
    expect(decide('changed-in-bus', { profile: 'claude', force: true, removal: true }).action).toBe('remove');
    expect(decide('changed-in-bus', { profile: 'claude', force: true, blocked: 'a link' })).toEqual({ action: 'none', held: 'a link' });
  });

  it('gives --keys the whole list, quoted for a shell, and no command for a key --keys cannot name', () => {
    expect(keysCommand('claude', '~/.claude/settings.json', ['hooks', 'statusLine'])).toBe('gitbus env capture claude --add ~/.claude/settings.json --keys hooks,statusLine');
    expect(keysCommand('claude', '~/.claude/settings.json', ['hooks', 'my key$'])).toBe("gitbus env capture claude --add ~/.claude/settings.json --keys 'hooks,my key$'");
    expect(keysCommand('claude', '~/.claude/settings.json', ['hooks', 'a,b'])).toBeUndefined();
    expect(keysCommand('claude', '~/.claude/settings.json', ['hooks', ' padded'])).toBeUndefined();
  });

  it('offers --variant node for a file this node may keep as its own, its target quoted for a shell, never for a removal', () => {
    expect(decide('conflict', { profile: 'claude', force: false, perNode: '~/.gitconfig' }).held).toContain('"gitbus env capture claude --add ~/.gitconfig --variant node"');
    expect(decide('changed-here', { profile: 'claude', force: false, perNode: "~/it's $(x)" }).held).toContain(`--add ~/'it'\\''s $(x)' --variant node`);
    expect(decide('conflict', { profile: 'claude', force: false }).held).not.toContain('--variant');
    expect(decide('conflict', { profile: 'claude', force: false, removal: true, perNode: '~/.gitconfig' }).held).not.toContain('--variant');
  });

  it('publishes counts and the first drifting files on the node card, capped', () => {
    const files = Array.from({ length: 14 }, (_, i) => ({ target: `~/f${i}`, state: i < 2 ? ('in-sync' as const) : ('conflict' as const) }));
    const card = cardEnvOf('claude', 'auto', files);
    expect(card.counts).toEqual({ 'in-sync': 2, conflict: 12 });
    expect(card.drift).toHaveLength(10);
    expect(card.more).toBe(2);
    expect(nodeCardSchema.safeParse({ node: 'a', env: [card] }).success).toBe(true);
  });
});

describe('JSON merged by keys', () => {
  it('refuses JSON nested deeper than the cap, without overflowing the stack', () => {
    const deep = `{"hooks": ${'['.repeat(20000)}${']'.repeat(20000)}}`;
    expect(parseJsonObject(deep)).toEqual({ ok: false, reason: expect.stringMatching(/nested more than 64 levels/) });
    expect(parseJsonObject('{"a": {"b": [1, {"c": 2}]}}').ok).toBe(true);
  });

  it('sets the profile\'s keys and keeps every other key of the node', () => {
    const local = { permissions: { allow: ['x'] }, model: 'sonnet', enabledPlugins: { a: true } };
    const profile = { model: 'opus', hooks: { Stop: [] } };
    const merged = mergeJson(local, profile);
    expect(merged).toEqual({ permissions: { allow: ['x'] }, model: 'opus', enabledPlugins: { a: true }, hooks: { Stop: [] } });
    expect(Object.keys(merged)).toEqual(['permissions', 'model', 'enabledPlugins', 'hooks']);
  });

  it('hashes only the managed keys: keys the node added are not drift', () => {
    const keys = ['model', 'hooks'];
    expect(keysHash({ model: 'opus', hooks: {}, mine: 1 }, keys)).toBe(keysHash({ hooks: {}, model: 'opus' }, keys));
    expect(keysHash({ model: 'sonnet', hooks: {} }, keys)).not.toBe(keysHash({ model: 'opus', hooks: {} }, keys));
  });

  it('keeps a "__proto__" key a key', () => {
    const r = parseJsonObject('{"__proto__": {"polluted": true}, "a": 1}');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const merged = mergeJson({}, r.value);
    expect(Object.hasOwn(merged, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.keys(pickKeys(r.value, ['__proto__']))).toEqual(['__proto__']);
    expect(parseJsonObject('[1]')).toMatchObject({ ok: false });
  });

  it('writes back every number of the node\'s file as it was written, even those a double cannot hold', () => {
    const node = '{\n  "id": 12345678901234567890,\n  "ratio": 1.0,\n  "big": 1e3,\n  "neg": -0,\n  "cents": 0.10,\n  "huge": 1e400,\n  "list": [\n    9007199254740993,\n    2,\n    "12345678901234567890"\n  ],\n  "text": "1.0 and 1e3 in a string",\n  "plain": 42\n}\n';
    const local = parseJsonObject(node);
    const profile = parseJsonObject('{"model": "opus", "limit": 2.50}');
    expect(local.ok && profile.ok).toBe(true);
    if (!local.ok || !profile.ok) return;
    // The profile's keys set, the node's kept, each number in its own spelling; strings untouched.
    expect(renderJson(mergeJson(local.value, profile.value))).toBe(`${node.slice(0, -3)},\n  "model": "opus",\n  "limit": 2.50\n}\n`);
    expect(renderJson(local.value)).toBe(node);
    // Two integers past 2^53 that read as the same double are different settings; 1.0 and 1e3 are the values 1 and
    // 1000, hashed as before numbers were kept (a node's state.json from then stays in step).
    const parsed = (text: string) => (parseJsonObject(text) as { value: Record<string, unknown> }).value;
    expect(keysHash(local.value, ['id'])).not.toBe(keysHash(parsed('{"id": 12345678901234567891}'), ['id']));
    expect(keysHash(local.value, ['ratio', 'big', 'neg', 'cents'])).toBe(keysHash({ ratio: 1, big: 1000, neg: 0, cents: 0.1 }, ['ratio', 'big', 'neg', 'cents']));
    expect(keysHash(local.value, ['huge'])).not.toBe(keysHash({ huge: null }, ['huge']));
    // Anything else that prints the value sees the number.
    expect(JSON.parse(JSON.stringify(local.value))).toMatchObject({ id: 12345678901234567890, ratio: 1, big: 1000 });
  });

  it('takes no string of a file for a kept number, whatever it holds', () => {
    const text = '{"a": "\\u0000abc:0", "b": 1.50, "c": "\\u0000"}';
    const r = parseJsonObject(text);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value['a']).toBe('\u0000abc:0');
    // A string of some megabytes (a regular expression over it would overflow the stack), and a kept number as deep
    // as a plain one may be.
    const long = parseJsonObject(`{"blob": "${'a\\"'.repeat(3_000_000)}", "n": 1.0}`);
    expect(long.ok && renderJson(long.value).endsWith('"n": 1.0\n}\n')).toBe(true);
    expect(parseJsonObject(`${'{"a": '.repeat(64)}1.0${'}'.repeat(64)}`).ok).toBe(true);
    // A file that is one such number is still not an object.
    expect(parseJsonObject('1.0')).toEqual({ ok: false, reason: 'not a JSON object' });
    expect(renderJson(r.value)).toBe('{\n  "a": "\\u0000abc:0",\n  "b": 1.50,\n  "c": "\\u0000"\n}\n');
  });

  it('says why a file is not JSON without quoting its text (a node\'s settings may hold a token), on one line', () => {
    const r = parseJsonObject('// mine\n{"env": {"TOKEN": "x"}}');
    expect(r).toEqual({ ok: false, reason: "not valid JSON (Unexpected token '/')" });
    expect(parseJsonObject(`{"a": 1, "b": ${'x'.repeat(40)}}`)).toEqual({ ok: false, reason: "not valid JSON (Unexpected token 'x')" });
  });
});

describe('secret scan', () => {
  it('finds tokens, private keys and high-entropy *_TOKEN= / *_KEY= values, with the line', () => {
    const text = [
      'alias ll="ls -l"',
      'export GITHUB_TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB',
      'key: sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123',
      'aws = AKIAIOSFODNN7EXAMPLE',
      'slack xoxb-12345678901-abcdefghij',
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      'export MY_SERVICE_TOKEN=q8Zr3vXk29LpW0sTn5Yb',
      '  "ANTHROPIC_API_KEY": "a8f3k2m9x7q1w5e4r6t0y2u8"',
    ].join('\n');
    expect(scanSecrets(text).map((f) => f.line)).toEqual([2, 3, 4, 5, 6, 7, 8]);
  });

  it('finds passwords in URLs, Authorization headers, npm tokens and Google OAuth tokens', () => {
    const text = [
      '[http "https://git.example.com/"]',
      '\textraheader = AUTHORIZATION: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc',
      '[url "https://alice:Tr0ub4dor-3xyz@git.example.com/"]',
      '//registry.npmjs.org/:_authToken=8f2a1c3e-4b5d-6e7f-8a9b-0c1d2e3f4a5b',
      'token = ya29.a0AfH6SMBx3kLmNoPqRsTuVwXyZ0123456789',
      '//npm.example.com/:_password=cTR4dkxhOXBzMjNRbXcweA==',
      '\tinsteadOf = https://github.com/',
    ].join('\n');
    expect(scanSecrets(text).map((f) => f.line)).toEqual([2, 3, 4, 5, 6]);
  });

  it('finds a token given as the user name of an http(s) URL, npm\'s _auth and a *_PAT value; a plain user name is no secret', () => {
    const text = [
      '[url "https://glDeployTok3nXyZ0123456789abcd@gitlab.example.com/"]',
      '\tinsteadOf = https://gitlab.example.com/',
      '//registry.npmjs.org/:_auth=Ym9iOnMzY3JldFBhc3N3b3JkMTIz',
      'export GH_PAT=Zq8xP2mK9vL4nR7tW1yB',
      '[url "https://alice@git.example.com/"]',
      'export PATH=/usr/local/bin:$PATH',
    ].join('\n');
    expect(scanSecrets(text).map((f) => f.line)).toEqual([1, 3, 4]);
    expect(JSON.stringify(scanSecrets(text))).not.toMatch(/glDeployTok3n|Ym9iOnMz|Zq8xP2/);
  });

  it('leaves references and placeholders alone', () => {
    const text = ['export GITHUB_TOKEN=$(cat ~/.config/tokens/github)', 'export API_KEY="${API_KEY_FROM_KEYCHAIN}"', 'OPENAI_API_KEY=your-key-here', 'export EDITOR=vim', 'PASSWORD_STORE_DIR=/home/me/.password-store', '    _auth = requests.auth.HTTPBasicAuth(user, pw)'].join('\n');
    expect(scanSecrets(text)).toEqual([]);
  });
});

describe('unified diff', () => {
  it('shows what apply changes, with context', () => {
    const before = 'a\nb\nc\nd\ne\nf\ng\n';
    const after = 'a\nb\nc\nD\ne\nf\ng\nh\n';
    expect(unifiedDiff(before, after, { a: 'here', b: 'bus' })).toBe('--- here\n+++ bus\n@@ -1,7 +1,8 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n+h\n');
    expect(unifiedDiff('x\n', 'x\n', { a: 'a', b: 'b' })).toBe('');
    expect(unifiedDiff('', 'new\n', { a: 'a', b: 'b' })).toBe('--- a\n+++ b\n@@ -0,0 +1,1 @@\n+new\n');
  });
});

describe('capture by the same three hashes', () => {
  it('takes a file changed here, leaves one the bus changed, refuses one changed on both sides', async () => {
    const { captureDecision, captureRemoves } = await import('../../bus/env/states.js');
    expect(captureDecision(undefined, 'L', undefined, false)).toBe('take');
    expect(captureDecision('B', 'B', 'A', false)).toBe('take');
    expect(captureDecision('A', 'L', 'A', false)).toBe('take');
    expect(captureDecision('B', 'A', 'A', false)).toBe('keep-bus');
    expect(captureDecision('B', 'L', 'A', false)).toBe('conflict');
    expect(captureDecision('B', 'L', undefined, false)).toBe('conflict');
    expect(captureDecision('B', 'L', 'A', true)).toBe('take');
    expect(captureRemoves('A', 'A', false)).toBe(true);
    expect(captureRemoves('B', 'A', false)).toBe(false);
    expect(captureRemoves('B', undefined, false)).toBe(false);
    expect(captureRemoves('B', undefined, true)).toBe(true);
  });
});
