import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { expandTilde, parseSshConfig, resolveSshHost, type SshConfigOptions, type SshHostConfig } from '../../bus/transport/ssh-config.js';
import { SshConfigError } from '../../bus/transport/ssh-errors.js';

let tmp: string;
let home: string;
let counter = 0;

beforeAll(() => {
  tmp = mkdtempSync(join(os.tmpdir(), 'gitbus-ssh-config-'));
  home = join(tmp, 'home');
  mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** OpenSSH refuses config files others can write, so every fixture is 0600. */
function write(path: string, text: string): string {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

function configFile(text: string): string {
  return write(join(tmp, `config-${++counter}`), text);
}

function resolve(text: string, alias: string, options: SshConfigOptions = {}): SshHostConfig {
  return resolveSshHost(alias, { files: [configFile(text)], homeDir: home, localUser: 'me', env: {}, ...options });
}

function configError(fn: () => unknown): SshConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SshConfigError) return err;
    throw err;
  }
  throw new Error('expected an SshConfigError');
}

describe('resolveSshHost: the basics', () => {
  it('maps an alias to HostName, User, Port and IdentityFile', () => {
    const c = resolve('Host gpu\n  HostName gpu01.lab.example.com\n  User bus\n  Port 2222\n  IdentityFile ~/.ssh/id_gpu\n', 'gpu');
    expect(c).toMatchObject({ alias: 'gpu', hostName: 'gpu01.lab.example.com', user: 'bus', port: 2222, identityFiles: [`${home}/.ssh/id_gpu`] });
  });

  it('falls back to OpenSSH defaults when nothing matches', () => {
    const c = resolve('Host other\n  Port 1\n', 'Plain.Example.COM');
    expect(c).toEqual({
      alias: 'Plain.Example.COM',
      hostName: 'plain.example.com',
      user: 'me',
      port: 22,
      identityFiles: [],
      identitiesOnly: false,
      identityAgent: undefined,
      userKnownHostsFiles: [`${home}/.ssh/known_hosts`, `${home}/.ssh/known_hosts2`],
      globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      strictHostKeyChecking: 'ask',
      hashKnownHosts: false,
      hostKeyAlias: undefined,
      connectTimeoutMs: undefined,
      serverAliveIntervalMs: undefined,
      serverAliveCountMax: undefined,
      proxyJump: undefined,
      proxyCommand: undefined,
      ignored: [],
    } satisfies SshHostConfig);
  });

  it('skips missing files and reads the default ~/.ssh/config', () => {
    write(join(home, '.ssh', 'config'), 'Host dflt\n  Port 2022\n');
    expect(resolveSshHost('dflt', { homeDir: home, localUser: 'me', systemDir: join(tmp, 'no-etc') }).port).toBe(2022);
    expect(resolveSshHost('dflt', { files: [join(tmp, 'missing')], homeDir: home, localUser: 'me' }).port).toBe(22);
  });

  it('keeps the first value obtained, across blocks and across files', () => {
    const c = resolve('Host a\n  Port 1\n  User first\nHost *\n  Port 2\n  User second\n  HostName late.example\n', 'a');
    expect(c).toMatchObject({ port: 1, user: 'first', hostName: 'late.example' });
    const system = configFile('Host *\n  Port 3\n  User sys\n');
    const both = resolveSshHost('a', { files: [configFile('Host a\n  Port 4\n'), system], homeDir: home, localUser: 'me' });
    expect(both).toMatchObject({ port: 4, user: 'sys' });
  });

  it('accumulates IdentityFile in order, without duplicates or `none`', () => {
    const c = resolve('Host a\n  IdentityFile /k/one\n  IdentityFile none\nHost *\n  IdentityFile /k/two\n  IdentityFile /k/one\n', 'a');
    expect(c.identityFiles).toEqual(['/k/one', '/k/two']);
  });
});

describe('resolveSshHost: Host patterns', () => {
  const text = 'Host *.example.com !bad.example.com\n  User wild\nHost web?? db\n  Port 2200\nHost Upper\n  Port 2300\nHost real.example\n  Port 2400\nHost alias\n  HostName real.example\n';

  it('matches * and ? wildcards and several patterns per line', () => {
    expect(resolve(text, 'x.example.com').user).toBe('wild');
    expect(resolve(text, 'web01').port).toBe(2200);
    expect(resolve(text, 'db').port).toBe(2200);
    expect(resolve(text, 'web1').port).toBe(22);
  });

  it('lets a matching !pattern exclude the block even when another pattern matches', () => {
    expect(resolve(text, 'bad.example.com').user).toBe('me');
    expect(resolve('Host !a\n  Port 5\n', 'b').port).toBe(22);
  });

  it('matches the alias as given: case-sensitive, and not the HostName', () => {
    expect(resolve(text, 'Upper').port).toBe(2300);
    expect(resolve(text, 'upper').port).toBe(22);
    expect(resolve(text, 'alias')).toMatchObject({ hostName: 'real.example', port: 22 });
  });
});

describe('resolveSshHost: Match', () => {
  it('supports Match host (against the HostName), originalhost, user, localuser and all', () => {
    const text = [
      'Host a',
      '  HostName Real.Example',
      'Match host real.example',
      '  User by-host',
      'Match originalhost a !localuser root',
      '  Port 2500',
      'Match user by-host',
      '  IdentityFile /k/by-user',
      'Match all',
      '  ServerAliveCountMax 4',
    ].join('\n');
    expect(resolve(text, 'a')).toMatchObject({ user: 'by-host', port: 2500, identityFiles: ['/k/by-user'], serverAliveCountMax: 4 });
    expect(resolve(text, 'a', { localUser: 'root' }).port).toBe(22);
  });

  it('re-reads for Match final, where Host patterns see the HostName', () => {
    const text = 'Host short\n  HostName long.example\nMatch final\n  User final\nHost long.example\n  Port 2600\n';
    expect(resolve(text, 'short')).toMatchObject({ user: 'final', port: 2600, hostName: 'long.example' });
    expect(resolve('Host short\n  HostName long.example\nHost long.example\n  Port 2600\n', 'short').port).toBe(22);
    // final/canonical match only in the re-read, so an earlier-read !final block wins first-value-wins.
    expect(resolve('Match final\n  Port 2601\nMatch !final\n  Port 2602\n', 'a').port).toBe(2602);
  });

  it('does not apply a Match exec block and reports it as ignored', () => {
    const file = configFile('Match exec "true"\n  Port 2700\nMatch host nope exec "true"\n  Port 2800\n');
    const c = resolveSshHost('a', { files: [file], homeDir: home, localUser: 'me' });
    expect(c.port).toBe(22);
    expect(c.ignored).toEqual([{ keyword: 'Match exec', file, line: 1 }]);
  });
});

describe('resolveSshHost: Include', () => {
  it('reads globbed files in lexical order, relative to ~/.ssh, skipping dotfiles', () => {
    write(join(home, '.ssh', 'conf.d', '20-b.conf'), 'Host inc\n  Port 2020\n  User from-b\n');
    write(join(home, '.ssh', 'conf.d', '10-a.conf'), 'Host inc\n  Port 1010\n');
    write(join(home, '.ssh', 'conf.d', '.00-hidden.conf'), 'Host inc\n  Port 1\n');
    expect(resolve('Include conf.d/*.conf\n', 'inc')).toMatchObject({ port: 1010, user: 'from-b' });
    expect(resolve(`Include ~/.ssh/conf.d/2?-*\n`, 'inc').port).toBe(2020);
  });

  it('applies an Include inside a Host block only when the block matches, and keeps its Host lines inside', () => {
    const inc = write(join(tmp, 'inside.conf'), 'Port 3030\nHost nothing-matches-this\n  User wrong\n');
    const text = `Host gated\n  Include ${inc}\n  User after-include\nHost *\n  User fallback\n`;
    expect(resolve(text, 'gated')).toMatchObject({ port: 3030, user: 'after-include' });
    expect(resolve(text, 'other')).toMatchObject({ port: 22, user: 'fallback' });
  });

  it('resolves relative Includes of the system config against the system directory', () => {
    const etc = join(tmp, 'etc-ssh');
    mkdirSync(join(etc, 'ssh_config.d'), { recursive: true });
    write(join(etc, 'ssh_config.d', 'x.conf'), 'Host *\n  Port 4040\n');
    const system = write(join(etc, 'ssh_config'), 'Include ssh_config.d/*.conf\n');
    expect(resolveSshHost('a', { files: [system], systemDir: etc, homeDir: home, localUser: 'me' }).port).toBe(4040);
  });

  it('stops an Include loop at depth 16', () => {
    const loop = join(tmp, 'loop.conf');
    write(loop, `Include ${loop}\n`);
    const err = configError(() => resolve(`Include ${loop}\n`, 'a'));
    expect(err.message).toMatch(/loop\.conf line 1: Include nests deeper than 16/);
  });
});

describe('resolveSshHost: syntax and values', () => {
  it('accepts Key=Value, quotes, escapes and trailing comments', () => {
    const c = resolve('Host=a\n  Port=2222\n  User = "x y" # who\n  HostName="h.example"\n  IdentityFile "/with space/k"\n  IdentityFile \'/single q\'\n  IdentityFile /esc\\ aped\n', 'a');
    expect(c).toMatchObject({ port: 2222, user: 'x y', hostName: 'h.example', identityFiles: ['/with space/k', '/single q', '/esc aped'] });
  });

  it('expands tokens, ~ and ${ENV}', () => {
    const text = [
      'Host a',
      '  HostName %h.example.com',
      '  User git',
      '  Port 2200',
      '  IdentityFile ~/.ssh/%r@%h:%p',
      '  IdentityFile %d/%u/%n/%%/${KEYS}',
      '  ProxyCommand nc -x proxy %h %p # stays',
      '  UserKnownHostsFile ~/kh_%h',
    ].join('\n');
    const c = resolve(text, 'a', { env: { KEYS: 'keydir' } });
    expect(c.hostName).toBe('a.example.com');
    expect(c.identityFiles).toEqual([`${home}/.ssh/git@a.example.com:2200`, `${home}/me/a/%/keydir`]);
    expect(c.proxyCommand).toBe('nc -x proxy a.example.com 2200 # stays');
    expect(c.userKnownHostsFiles).toEqual([`${home}/kh_a.example.com`]);
  });

  it('maps the other settings like OpenSSH', () => {
    const c = resolve(
      'Host a\n  StrictHostKeyChecking off\n  ConnectTimeout 1m30s\n  ServerAliveInterval 15\n  ServerAliveCountMax 5\n  HostKeyAlias MyAlias\n  HashKnownHosts yes\n  IdentitiesOnly true\n  IdentityAgent ~/agent.sock\n  UserKnownHostsFile none\n  GlobalKnownHostsFile /g1 /g2\n',
      'a',
    );
    expect(c).toMatchObject({
      strictHostKeyChecking: 'no',
      connectTimeoutMs: 90_000,
      serverAliveIntervalMs: 15_000,
      serverAliveCountMax: 5,
      hostKeyAlias: 'myalias',
      hashKnownHosts: true,
      identitiesOnly: true,
      identityAgent: `${home}/agent.sock`,
      userKnownHostsFiles: [],
      globalKnownHostsFiles: ['/g1', '/g2'],
    });
    expect(resolve('StrictHostKeyChecking true\n', 'a').strictHostKeyChecking).toBe('yes');
    expect(resolve('StrictHostKeyChecking Accept-New\n', 'a').strictHostKeyChecking).toBe('accept-new');
    expect(resolve('ConnectTimeout none\nConnectTimeout 5\n', 'a').connectTimeoutMs).toBe(5000);
  });

  it('handles IdentityAgent none, SSH_AUTH_SOCK and $VAR', () => {
    expect(resolve('IdentityAgent none\n', 'a').identityAgent).toBe('none');
    expect(resolve('IdentityAgent SSH_AUTH_SOCK\n', 'a').identityAgent).toBeUndefined();
    expect(resolve('IdentityAgent $MY_SOCK\n', 'a', { env: { MY_SOCK: '/run/agent' } }).identityAgent).toBe('/run/agent');
    expect(resolve('IdentityAgent $MY_SOCK\n', 'a').identityAgent).toBe('none');
  });

  it('lets the first of ProxyJump and ProxyCommand win', () => {
    expect(resolve('ProxyJump u@j:2\nProxyCommand nc %h %p\n', 'a')).toMatchObject({ proxyJump: 'u@j:2', proxyCommand: undefined });
    expect(resolve('ProxyCommand nc %h %p\nProxyJump j\n', 'a')).toMatchObject({ proxyJump: undefined, proxyCommand: 'nc a 22' });
    expect(resolve('ProxyJump none\nProxyCommand nc %h\n', 'a')).toMatchObject({ proxyJump: undefined, proxyCommand: 'nc a' });
    expect(resolve('ProxyCommand none\nProxyJump j\n', 'a')).toMatchObject({ proxyJump: undefined, proxyCommand: undefined });
  });

  it('skips unknown keywords, and reports connection settings it does not act on', () => {
    const file = configFile('FrobnicateHarder yes\nSendEnv LANG\nCanonicalizeHostname yes\nCertificateFile ~/.ssh/c.pub\nAddressFamily any\n');
    const c = resolveSshHost('a', { files: [file], homeDir: home, localUser: 'me' });
    expect(c.ignored).toEqual([
      { keyword: 'CanonicalizeHostname', file, line: 3 },
      { keyword: 'CertificateFile', file, line: 4 },
    ]);
  });
});

describe('resolveSshHost: errors', () => {
  it('names file, line, keyword and the fix for a malformed value, even in a block that does not match', () => {
    const file = configFile('Host a\n  User x\nHost b\n  Port abc\n');
    const err = configError(() => resolveSshHost('a', { files: [file], homeDir: home, localUser: 'me' }));
    expect(err.code).toBe('SSH_CONFIG_INVALID');
    expect(err.message).toContain(`${file} line 4: Port "abc" is not a port number (1-65535)`);
    expect(err.fix).toContain('Port 2222');
    expect(err.data).toMatchObject({ file, line: 4, keyword: 'Port' });
  });

  it('refuses bad quotes, extra values, unknown tokens and unset variables', () => {
    expect(configError(() => resolve('User "unclosed\n', 'a')).message).toMatch(/line 1: User has an unclosed quote/);
    expect(configError(() => resolve('Port 22 23\n', 'a')).message).toMatch(/Port takes one value/);
    expect(configError(() => resolve('IdentityFile /k/%z\n', 'a')).message).toMatch(/IdentityFile uses %z/);
    expect(configError(() => resolve('IdentityFile ${NOPE}/k\n', 'a')).message).toMatch(/\$\{NOPE\}/);
    expect(configError(() => resolve('Match exec\n', 'a')).message).toMatch(/Match exec needs a value/);
    expect(configError(() => resolve('StrictHostKeyChecking maybe\n', 'a')).message).toMatch(/must be one of/);
  });

  it('refuses a config file that other users can write, like OpenSSH', () => {
    if (process.getuid?.() === undefined) return;
    const file = configFile('Port 1\n');
    chmodSync(file, 0o666);
    expect(configError(() => resolveSshHost('a', { files: [file], homeDir: home, localUser: 'me' })).message).toMatch(/bad owner or permissions/);
  });
});

describe('parseSshConfig and expandTilde', () => {
  it('returns the known keywords with their line numbers and unquoted arguments', () => {
    expect(parseSshConfig('# c\n\nHost a b\n  unknownthing x\n  ProxyCommand  ssh -W "%h:%p" j\n', 'f')).toEqual([
      { file: 'f', line: 3, keyword: 'host', name: 'Host', args: ['a', 'b'], rest: 'a b' },
      { file: 'f', line: 5, keyword: 'proxycommand', name: 'ProxyCommand', args: ['ssh', '-W', '%h:%p', 'j'], rest: 'ssh -W "%h:%p" j' },
    ]);
  });

  it('expands ~ and ~/ only', () => {
    expect(expandTilde('~', '/h')).toBe('/h');
    expect(expandTilde('~/x', '/h')).toBe('/h/x');
    expect(expandTilde('~bob/x', '/h')).toBe('~bob/x');
    expect(expandTilde('/a/~/b', '/h')).toBe('/a/~/b');
  });
});

// ---- Differential test against the real OpenSSH client ------------------------------------------------------------

const sshFound = spawnSync('ssh', ['-V'], { stdio: 'ignore' }).status === 0;
const skipSsh = !sshFound && process.env.CI !== 'true';
if (skipSsh) console.warn('ssh-config.test: OpenSSH client `ssh` not found on PATH; skipping the `ssh -G` comparison');

/** `ssh -G` prints the resolved config, one `keyword value` per line. */
function sshG(file: string, alias: string): Map<string, string[]> {
  const out = spawnSync('ssh', ['-G', '-F', file, alias], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (out.status !== 0) throw new Error(`ssh -G failed: ${out.stderr}`);
  const seen = new Map<string, string[]>();
  for (const line of out.stdout.split('\n')) {
    const m = /^(\S+) (.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) seen.set(m[1], [...(seen.get(m[1]) ?? []), m[2]]);
  }
  return seen;
}

/** The subset of `ssh -G` output our resolver decides, rendered as ssh prints it. */
function asSshPrints(c: SshHostConfig, ssh: Map<string, string[]>): Record<string, string[] | undefined> {
  const seconds = (ms: number | undefined) => (ms === undefined ? undefined : [String(ms / 1000)]);
  return {
    hostname: [c.hostName],
    user: [c.user],
    port: [String(c.port)],
    // ssh prints IdentityFile before expansion, and its built-in defaults when none is given: compare given ones.
    identityfile: c.identityFiles.length > 0 ? c.identityFiles : ssh.get('identityfile'),
    connecttimeout: seconds(c.connectTimeoutMs) ?? ['none'],
    serveraliveinterval: seconds(c.serverAliveIntervalMs) ?? ['0'],
    serveralivecountmax: c.serverAliveCountMax === undefined ? ['3'] : [String(c.serverAliveCountMax)],
    stricthostkeychecking: [{ yes: 'true', no: 'false', ask: 'ask', 'accept-new': 'accept-new' }[c.strictHostKeyChecking]],
    hostkeyalias: c.hostKeyAlias === undefined ? undefined : [c.hostKeyAlias],
    identitiesonly: [c.identitiesOnly ? 'yes' : 'no'],
    hashknownhosts: [c.hashKnownHosts ? 'yes' : 'no'],
    userknownhostsfile: [c.userKnownHostsFiles.join(' ') || 'none'],
    globalknownhostsfile: [c.globalKnownHostsFiles.join(' ') || 'none'],
    proxyjump: c.proxyJump === undefined ? undefined : [c.proxyJump],
  };
}

describe('resolveSshHost agrees with `ssh -G`', () => {
  it.skipIf(skipSsh)(`for wildcards, first-wins, Match, Include and quoting${skipSsh ? ' (skipped: no ssh on PATH)' : ''}`, () => {
    const dir = mkdtempSync(join(tmp, 'diff-'));
    mkdirSync(join(dir, 'inc'));
    write(join(dir, 'inc', '10-a.conf'), 'HostName included.example\nPort 2203\nHost inc-other\n  User other\n');
    write(join(dir, 'inc', '20-b.conf'), 'Port 9999\nUser from-b\n');
    const configs: [string, string[]][] = [
      [
        [
          '# main',
          'Host web-?? !web-99',
          '  HostName %h.internal.example.com',
          '  User deploy',
          'Host web-*',
          '  Port 2201',
          '  IdentityFile /keys/web',
          'Host db DB',
          '  HostName DB.Example.COM',
          '  Port=2202',
          '  User = "db admin"',
          '  IdentityFile "/keys/with space"',
          '  IdentityFile /keys/db',
          '  ConnectTimeout 1m30s',
          '  StrictHostKeyChecking accept-new',
          '  HostKeyAlias DbAlias',
          'Match originalhost db',
          '  IdentityFile /keys/matched',
          '  ServerAliveInterval 15',
          'Match host db.example.com',
          '  User never-first',
          '  ServerAliveCountMax 7',
          'Host bastion-*',
          '  ProxyJump jump@bastion.example.com:2222',
          '  ProxyCommand ignored %h',
          'Host inc-*',
          `  Include ${dir}/inc/*.conf`,
          '  IdentityFile /keys/after-include',
          'Host *',
          '  User fallback',
          '  IdentityFile /keys/default',
          '  IdentityFile /keys/web',
          `  UserKnownHostsFile ${dir}/kh1 ${dir}/kh2`,
          '  StrictHostKeyChecking off',
        ].join('\n'),
        ['web-01', 'web-99', 'web-abc', 'db', 'DB', 'Db', 'bastion-1', 'inc-one', 'inc-other', 'other'],
      ],
      [
        [
          'Host short',
          '  HostName long.example.org',
          'Match final host long.example.org',
          '  User final-user',
          'Host long.example.org',
          '  Port 2300',
          'Match final',
          '  ServerAliveInterval 22',
          'Match !canonical',
          '  ServerAliveInterval 11',
          'Match canonical',
          '  ConnectTimeout 7',
          'Match !originalhost short',
          '  Port 2400',
          'Match user fin*',
          '  IdentityFile /keys/u',
          'Match all',
          '  ServerAliveCountMax 9',
        ].join('\n'),
        ['short', 'other', 'long.example.org'],
      ],
      [
        'Host a\n  UserKnownHostsFile none\n  GlobalKnownHostsFile none\n  ProxyJump none\n  IdentityFile none\n  ConnectTimeout none\n  HashKnownHosts yes\n  IdentitiesOnly yes\nHost *\n  ConnectTimeout 5\n  ProxyJump j1,u@j2:2\n',
        ['a', 'b', '10.0.0.1'],
      ],
    ];
    const me = os.userInfo();
    for (const [text, aliases] of configs) {
      const file = write(join(dir, `config-${++counter}`), text);
      for (const alias of aliases) {
        const ssh = sshG(file, alias);
        const ours = asSshPrints(resolveSshHost(alias, { files: [file], homeDir: me.homedir, localUser: me.username }), ssh);
        const theirs = Object.fromEntries(Object.keys(ours).map((k) => [k, ssh.get(k)]));
        expect({ alias, ...ours }).toEqual({ alias, ...theirs });
      }
    }
  });
});
