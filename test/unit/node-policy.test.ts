import { describe, it, expect } from 'vitest';
import { globMatch } from '../../bus/model/glob.js';
import { cardRefusal, nodePolicyVerdict, signerMatches, type NodePolicy, type PolicyFacts, type PolicyTask, type PolicyVerdict } from '../../bus/model/node-policy.js';
import { baseTaskView } from '../../bus/model/task-view.js';
import { claimQueue, eligibility } from '../../bus/model/planner.js';
import { untrustedVerdict } from '../../bus/trust/enforce.js';
import { claimRemoved } from '../../bus/trust/seen-ended.js';
import { nodeConfigSchema } from '../../bus/home.js';
import { hasDotSegment } from '../../schemas/project.js';
import { handoffSchema } from '../../schemas/handoff.js';
import { problemsFromIssues } from '../../schemas/field-problems.js';
import { cappedConfig, policyRefusal } from '../../watcher/run-task.js';
import { claudeInvocation } from '../../watcher/runners/claude-args.js';
import { NodeCannotRunError, NothingClaimableError } from '../../bus/errors.js';

const facts: PolicyFacts = { node: 'w', rootNames: ['src', 'data'], projects: { app: 'git@host:o/app.git' } };
const verdict = (policy: NodePolicy | undefined, task: PolicyTask, f: Partial<PolicyFacts> = {}): PolicyVerdict => nodePolicyVerdict(policy, task, { ...facts, ...f });
const refused = (v: PolicyVerdict) => (v.ok ? null : v);

describe('globMatch', () => {
  it('* stays within a "/" part, ** crosses them, ? is one character, the rest is literal', () => {
    expect(globMatch('git@host:o/*', 'git@host:o/app.git')).toBe(true);
    expect(globMatch('git@host:o/*', 'git@host:o/a/b.git')).toBe(false);
    expect(globMatch('git@host:o/**', 'git@host:o/a/b.git')).toBe(true);
    expect(globMatch('https://h/**/x.git', 'https://h/a/b/x.git')).toBe(true);
    expect(globMatch('ap?', 'app')).toBe(true);
    expect(globMatch('ap?', 'ap/')).toBe(false);
    expect(globMatch('app', 'app')).toBe(true);
    expect(globMatch('app', 'apps')).toBe(false);
    expect(globMatch('a.c', 'abc')).toBe(false);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('', '')).toBe(true);
    expect(globMatch('', 'x')).toBe(false);
  });

  it('takes time linear in each side: a pattern that would make a regex backtrack forever answers at once', () => {
    const t0 = Date.now();
    expect(globMatch('*a'.repeat(400) + 'b', 'a'.repeat(1000))).toBe(false);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('nodePolicyVerdict', () => {
  it('accepts everything, with no caps, when there is no policy or it is empty', () => {
    expect(verdict(undefined, { command: 'rm -rf /' })).toEqual({ ok: true, caps: {} });
    expect(verdict({}, { command: 'rm -rf /', runner: 'tmux', timeout: '9d' })).toEqual({ ok: true, caps: {} });
  });

  it('never refuses a manual task: it runs nothing on the node', () => {
    const strict: NodePolicy = { runners: ['shell'], signers: ['alice'], commands: { allow: [] }, maxTimeout: '1m', repos: [] };
    expect(verdict(strict, { title: 'x', repo: '/elsewhere.git', timeout: '9d' } as PolicyTask)).toEqual({ ok: true, caps: {} });
  });

  it('runners: a task for a runner outside the list is refused, naming the field, the runners and the task\'s', () => {
    const v = refused(verdict({ runners: ['shell', 'claude'] }, { runner: 'tmux', command: 'top' }));
    expect(v?.fields).toEqual(['policy.runners']);
    expect(v?.reason).toBe('policy.runners: node w runs shell, claude tasks at most, and this is a tmux task');
    expect(v?.fix).toContain('add tmux to policy.runners');
    expect(verdict({ runners: ['shell'] }, { command: 'true' }).ok).toBe(true);
    expect(refused(verdict({ runners: [] }, { command: 'true' }))?.reason).toContain('runs no tasks at most');
  });

  describe('signers', () => {
    const alice = { principals: ['alice@example.com'], fingerprint: 'SHA256:aaaa' };
    it('a task with no verified signature is refused when the policy names signers', () => {
      const v = refused(verdict({ signers: ['alice@example.com'] }, { command: 'true' }, { signer: null }));
      expect(v?.fields).toEqual(['policy.signers']);
      expect(v?.reason).toContain('runs only tasks signed by alice@example.com, and this task has no signature that verifies');
    });
    it('a signer matches by principal (a glob) or by key fingerprint', () => {
      expect(verdict({ signers: ['alice@example.com'] }, { command: 'true' }, { signer: alice }).ok).toBe(true);
      expect(verdict({ signers: ['*@example.com'] }, { command: 'true' }, { signer: alice }).ok).toBe(true);
      expect(verdict({ signers: ['SHA256:aaaa'] }, { command: 'true' }, { signer: alice }).ok).toBe(true);
      expect(signerMatches('SHA256:aaa', alice)).toBe(false);
      expect(signerMatches('SHA256:*', alice)).toBe(false);
    });
    it('a signer not listed is refused, naming who signed', () => {
      const v = refused(verdict({ signers: ['bob@example.com', 'SHA256:bbbb'] }, { command: 'true' }, { signer: alice }));
      expect(v?.reason).toBe('policy.signers: the task is signed by alice@example.com (SHA256:aaaa), and node w runs only tasks signed by bob@example.com, SHA256:bbbb');
    });
    it('is not judged where the signer is not known (a dispatcher reading a node card)', () => {
      expect(verdict({ signers: ['bob'] }, { command: 'true' }, { signer: undefined }).ok).toBe(true);
    });
  });

  describe('repos', () => {
    const policy: NodePolicy = { repos: ['git@host:o/*', 'tools'] };
    it('a plain task is not concerned', () => {
      expect(verdict({ repos: [] }, { command: 'true' }).ok).toBe(true);
    });
    it('matches the repo as written, with or without .git and a trailing slash', () => {
      expect(verdict(policy, { command: 'true', repo: 'git@host:o/app.git' }).ok).toBe(true);
      expect(verdict({ repos: ['/srv/p.git'] }, { command: 'true', repo: '/srv/p/' }).ok).toBe(true);
      expect(verdict({ repos: ['/srv/p'] }, { command: 'true', repo: '/srv/p.git' }).ok).toBe(true);
    });
    it('matches a node.yaml project by its name or its URL, whichever the task gives', () => {
      expect(verdict({ repos: ['app'] }, { command: 'true', repo: 'git@host:o/app.git' }).ok).toBe(true);
      expect(verdict({ repos: ['git@host:o/app.git'] }, { command: 'true', repo: 'app' }).ok).toBe(true);
    });
    it('matches a node.yaml project URL with an http(s) user name to the handoff, which dispatch recorded without it; an SSH user name counts as written', () => {
      const projects = { app: 'https://me@host/o/app.git', ops: 'ssh://git@host/o/ops.git', cli: 'git@host:o/cli.git' };
      const only = (repos: string[], repo: string) => verdict({ repos }, { command: 'true', repo }, { projects }).ok;
      expect(only(['app'], 'https://host/o/app.git')).toBe(true);
      expect(only(['ops'], 'ssh://git@host/o/ops')).toBe(true);
      expect(only(['cli'], 'git@host:o/cli')).toBe(true);
      // An SSH user, on one side only or two different ones, may mean another home: not the remote the list admits.
      expect(only(['ops'], 'ssh://host/o/ops.git')).toBe(false);
      expect(only(['cli'], 'host:o/cli.git')).toBe(false);
      expect(only(['ops'], 'ssh://other@host/o/ops.git')).toBe(false);
      expect(only(['app'], 'https://host/o/other.git')).toBe(false);
    });
    it('an entry without a glob admits no other SSH user\'s repository: `~` and a relative path are per user', () => {
      const cases: [string, string][] = [
        ['ssh://host/~/p.git', 'ssh://mallory@host/~/p.git'],
        ['host:org/p', 'evil@host:org/p'],
        ['git@host:org/p', 'host:org/p'],
        ['git@host:org/p', 'evil@host:org/p.git'],
      ];
      for (const [entry, repo] of cases) {
        expect(verdict({ repos: [entry] }, { command: 'true', repo }, { projects: {} }), `${entry} ${repo}`).toMatchObject({ ok: false, fields: ['policy.repos'] });
        expect(cardRefusal({ policy: { repos: [entry] } }, { command: 'true', repo }, 'w'), `${entry} ${repo}`).toMatchObject({ fields: ['policy.repos'] });
      }
      // The spellings of one remote still match, on both sides: trailing slash, .git, the same user, http(s) credentials.
      const same: [string, string][] = [
        ['ssh://host/~/p.git', 'ssh://host/~/p/'],
        ['git@host:org/p', 'git@host:org/p.git'],
        ['ssh://git@host/o/p', 'ssh://git@host/o/p.git/'],
        ['https://host/o/p.git', 'https://me@host/o/p'],
        ['/srv/p.git', 'file:///srv//p'],
      ];
      for (const [entry, repo] of same) {
        expect(verdict({ repos: [entry] }, { command: 'true', repo }, { projects: {} }).ok, `${entry} ${repo}`).toBe(true);
        expect(cardRefusal({ policy: { repos: [entry] } }, { command: 'true', repo }, 'w'), `${entry} ${repo}`).toBeNull();
      }
    });
    it('refuses a repo no pattern matches, naming the patterns and the repo', () => {
      const v = refused(verdict(policy, { command: 'true', repo: 'git@host:evil/x.git' }));
      expect(v?.reason).toBe('policy.repos: node w works only on git@host:o/*, tools, and the task\'s repo is "git@host:evil/x.git"');
      expect(refused(verdict({ repos: [] }, { command: 'true', repo: 'app' }))?.reason).toContain('works only on no project repositories');
    });
    it('refuses a repo with a "." or ".." part, which a glob would match as text though it leads elsewhere', () => {
      for (const repo of ['/tmp/p/allowed/../proj.git', 'https://github.com/org/../other/private.git', 'https://github.com/org/%2e%2E/other.git', 'https://github.com/org/.%2e', 'git@host:o/./x.git']) {
        const glob = repo.startsWith('/') ? '/tmp/p/allowed/**' : repo.startsWith('git@') ? 'git@host:o/**' : 'https://github.com/org/**';
        expect(refused(verdict({ repos: [glob] }, { command: 'true', repo }))?.reason, repo).toContain('has a "." or ".." path part');
        expect(hasDotSegment(repo), repo).toBe(true);
        expect(handoffSchema.safeParse({ title: 't', repo }).success, repo).toBe(false);
      }
      for (const repo of ['/tmp/p/allowed/x..y.git', '/tmp/p/allowed/.hidden.git', 'https://github.com/org/...git']) {
        expect(verdict({ repos: ['/tmp/p/allowed/**', 'https://github.com/org/**'] }, { command: 'true', repo }).ok, repo).toBe(true);
        expect(handoffSchema.safeParse({ title: 't', repo }).success, repo).toBe(true);
      }
    });
    it('judges a file:// repo by the path git opens: an escaped "/" cannot hide a ".." part nor cross a "*"', () => {
      // git 2.39 opens /srv/secret.git for the first: it decodes %2F to "/" as it decodes every escape.
      for (const repo of ['file:///srv/allowed/x%2F..%2F..%2Fsecret.git', 'file:///srv/allowed/x%2f..', 'file:///srv/allowed/%2E%2E%2Fsecret.git', 'file:///srv/allowed/x%2F.%2Fy.git']) {
        expect(hasDotSegment(repo), repo).toBe(true);
        expect(refused(verdict({ repos: ['file:///srv/allowed/**'] }, { command: 'true', repo }))?.reason, repo).toContain('has a "." or ".." path part');
        const parsed = handoffSchema.safeParse({ title: 't', repo });
        expect(parsed.success, repo).toBe(false);
        const problems = parsed.success ? [] : problemsFromIssues('handoff.json', handoffSchema, parsed.error.issues);
        expect(problems, repo).toEqual([expect.objectContaining({ field: 'repo', reason: expect.stringContaining('once its percent escapes are decoded'), fix: expect.stringContaining('without escaped "/"') })]);
      }
      // A glob is matched against the decoded path: "*" stays within one part, as git sees the parts.
      expect(verdict({ repos: ['file:///srv/*'] }, { command: 'true', repo: 'file:///srv/other%2Fx.git' }).ok).toBe(false);
      expect(verdict({ repos: ['file:///srv/allowed/*'] }, { command: 'true', repo: 'file:///srv/allowe%64/x.git' }).ok).toBe(true);
      expect(verdict({ repos: ['file:///srv/my%20dir/*'] }, { command: 'true', repo: 'file:///srv/my dir/x.git' }).ok).toBe(true);
      // A pattern's escaped "*" is the character, not a wildcard.
      expect(verdict({ repos: ['file:///srv/a%2A'] }, { command: 'true', repo: 'file:///srv/abc' }).ok).toBe(false);
      // Escapes that decode to no "." or ".." part, and names with dots in them, stay valid.
      for (const repo of ['file:///srv/allowed/x%2Fy.git', 'file:///srv/allowed/..x%2F.hidden.git', 'file:///srv/allowed/caf%C3%A9.git']) {
        expect(hasDotSegment(repo), repo).toBe(false);
        expect(handoffSchema.safeParse({ title: 't', repo }).success, repo).toBe(true);
        expect(verdict({ repos: ['file:///srv/allowed/**'] }, { command: 'true', repo }).ok, repo).toBe(true);
      }
    });
    it('refuses an https or ssh repo with an escaped "/" or "\\" in its path: git decodes an ssh:// URL, and a server may decode an https one', () => {
      // git 2.39 runs git-upload-pack '/srv/allowed/x/../../secret.git' on the host for the ssh:// one.
      for (const [glob, repo] of [
        ['https://host/org/*', 'https://host/org/x%2F..%2F..%2Fsecret.git'],
        ['ssh://git@host/srv/allowed/*', 'ssh://git@host/srv/allowed/x%2f..%2f..%2fsecret.git'],
        ['https://host/org/*', 'https://host/org/x%5C..%5Csecret.git'],
        ['git://host/org/*', 'git://host/org/a%2Fb.git'],
      ] as const) {
        expect(refused(verdict({ repos: [glob] }, { command: 'true', repo }))?.reason, repo).toContain('escaped "/"');
        expect(cardRefusal({ policy: { repos: [glob] } }, { command: 'true', repo }, 'w'), repo).toMatchObject({ fields: ['policy.repos'] });
        const parsed = handoffSchema.safeParse({ title: 't', repo });
        expect(parsed.success, repo).toBe(false);
        const problems = parsed.success ? [] : problemsFromIssues('handoffs/x.md', handoffSchema, parsed.error.issues);
        expect(problems, repo).toEqual([expect.objectContaining({ field: 'repo', reason: expect.stringContaining('percent escape'), fix: expect.stringContaining('plain "/"') })]);
      }
      // Elsewhere an escape is no path separator: a user name (a Windows domain), a path or an scp-like remote
      // (git opens them as written), and a file:// URL, judged by its decoded path (above).
      for (const repo of ['https://CORP%5Cada@host/org/x.git', 'git@host:org/x%2Fy.git', '/srv/allowed/x%2Fy.git', 'https://host/org/my%20repo.git']) {
        expect(handoffSchema.safeParse({ title: 't', repo }).success, repo).toBe(true);
      }
    });
    it('a plain path pattern and a file:// pattern admit both spellings of a repo on this machine, as git opens one', () => {
      for (const repo of ['file:///srv/allowed/x.git', 'file://localhost/srv/allowed/x.git', '/srv/allowed/x.git', 'file:///srv/allowe%64/x.git']) {
        for (const glob of ['/srv/allowed/*', 'file:///srv/allowed/*', '/srv/allowed/**']) {
          expect(verdict({ repos: [glob] }, { command: 'true', repo }).ok, `${glob} ${repo}`).toBe(true);
          expect(cardRefusal({ policy: { repos: [glob] } }, { command: 'true', repo }, 'w'), `${glob} ${repo}`).toBeNull();
        }
      }
      // Still a part at a time, and still only this machine's paths.
      expect(verdict({ repos: ['/srv/*'] }, { command: 'true', repo: 'file:///srv/other%2Fx.git' }).ok).toBe(false);
      expect(verdict({ repos: ['/srv/allowed/*'] }, { command: 'true', repo: 'file://otherhost/srv/allowed/x.git' }).ok).toBe(false);
      expect(verdict({ repos: ['/srv/allowed/*'] }, { command: 'true', repo: 'ssh://host/srv/allowed/x.git' }).ok).toBe(false);
    });
    it('from a node card a bare project name cannot be judged (only the node knows what it means); a URL can', () => {
      expect(verdict(policy, { command: 'true', repo: 'other' }, { projects: undefined }).ok).toBe(true);
      expect(verdict(policy, { command: 'true', repo: 'https://x/y.git' }, { projects: undefined }).ok).toBe(false);
    });
  });

  describe('workRoots', () => {
    it('a workdir in a named root not listed is refused; listed roots and the default root are allowed', () => {
      const v = refused(verdict({ workRoots: ['src'] }, { command: 'true', workdir: 'data/secrets' }));
      expect(v?.reason).toBe('policy.workRoots: node w lets tasks use the work root(s) src and its default work root, and workdir "data/secrets" is in its root "data"');
      expect(verdict({ workRoots: ['src'] }, { command: 'true', workdir: 'src/gitbus' }).ok).toBe(true);
      expect(verdict({ workRoots: [] }, { command: 'true', workdir: 'scratch/x' }).ok).toBe(true);
      expect(verdict({ workRoots: [] }, { command: 'true' }).ok).toBe(true);
      expect(refused(verdict({ workRoots: [] }, { command: 'true', workdir: 'src' }))?.reason).toContain('lets tasks use its default work root');
    });
    it('is not judged without the node\'s root names, nor for project work (it runs in a worktree)', () => {
      expect(verdict({ workRoots: [] }, { command: 'true', workdir: 'data' }, { rootNames: undefined }).ok).toBe(true);
      expect(verdict({ workRoots: [] }, { command: 'true', workdir: 'data', repo: 'app' }).ok).toBe(true);
    });
  });

  describe('commands', () => {
    const allow: NodePolicy = { commands: { allow: ['make( [a-z-]+)*', 'npm test'] } };
    it('a command must match an allow pattern whole (anchored)', () => {
      expect(verdict(allow, { command: 'make' }).ok).toBe(true);
      expect(verdict(allow, { command: 'make test lint' }).ok).toBe(true);
      expect(verdict(allow, { command: 'npm test' }).ok).toBe(true);
      expect(verdict(allow, { command: 'npm test; curl evil | sh' }).ok).toBe(false);
      expect(verdict(allow, { command: 'x; make' }).ok).toBe(false);
    });
    it('a second line is not hidden behind an allowed first one; a trailing newline changes nothing', () => {
      expect(verdict(allow, { command: 'make test\nrm -rf ~' }).ok).toBe(false);
      expect(verdict(allow, { command: 'make test\n' }).ok).toBe(true);
    });
    it('names the field, the command and the patterns', () => {
      const v = refused(verdict(allow, { command: 'rm -rf /tmp/x' }));
      expect(v?.fields).toEqual(['policy.commands.allow']);
      expect(v?.reason).toBe('policy.commands.allow: the command "rm -rf /tmp/x" matches none of the patterns node w allows (/^(?:make( [a-z-]+)*)$/, /^(?:npm test)$/)');
      expect(refused(verdict(allow, { command: `${'x'.repeat(150)}\ny` }))?.reason).toContain('…" (and 1 more line(s))');
    });
    it('a deny pattern refuses a command containing a match anywhere', () => {
      const deny: NodePolicy = { commands: { deny: ['rm\\s+-rf', 'curl'] } };
      expect(verdict(deny, { command: 'make' }).ok).toBe(true);
      const v = refused(verdict(deny, { command: 'make && rm  -rf /' }));
      expect(v?.reason).toBe('policy.commands.deny: the command "make && rm  -rf /" contains what /rm\\s+-rf/ forbids on node w');
      expect(verdict({ commands: { allow: ['.*'], deny: ['curl'] } }, { command: 'true\ncurl x' }).ok).toBe(false);
    });
    it('applies to shell, tmux and icecc commands, not to claude or merge tasks', () => {
      const none: NodePolicy = { commands: { allow: [] } };
      for (const runner of ['shell', 'tmux', 'icecc'] as const) expect(verdict(none, { runner, command: 'make' }).ok).toBe(false);
      expect(verdict(none, { runner: 'claude' }).ok).toBe(true);
      expect(verdict(none, { runner: 'merge', repo: 'app' }).ok).toBe(true);
    });
    it('a pattern that does not compile allows nothing and denies everything (node.yaml refuses it anyway)', () => {
      expect(verdict({ commands: { allow: ['('] } }, { command: '(' }).ok).toBe(false);
      expect(verdict({ commands: { deny: ['['] } }, { command: 'make' }).ok).toBe(false);
    });
  });

  describe('maxTimeout', () => {
    it('a longer timeout is refused, naming both', () => {
      const v = refused(verdict({ maxTimeout: '2h' }, { command: 'true', timeout: '3h' }));
      expect(v?.reason).toBe("policy.maxTimeout: the task's timeout 3h is longer than node w's limit of 2h");
      expect(v?.fix).toBe('give it a timeout of 2h or less, with dispatch --timeout or the timeout field of a handoff or a --from line');
    });
    it('a task without a timeout gets the limit; one within it keeps its own', () => {
      expect(verdict({ maxTimeout: '90m' }, { command: 'true' })).toEqual({ ok: true, caps: { timeoutMs: 90 * 60_000 } });
      expect(verdict({ maxTimeout: '2h' }, { command: 'true', timeout: '2h' })).toEqual({ ok: true, caps: {} });
      expect(verdict({ maxTimeout: '2h' }, { runner: 'claude', timeout: '10m' })).toEqual({ ok: true, caps: {} });
    });
  });

  describe('maxBudgetUsd', () => {
    it('a claude task asking more is refused; one asking none gets the limit; one within keeps its own', () => {
      const v = refused(verdict({ maxBudgetUsd: 2 }, { runner: 'claude', claude: { maxBudgetUsd: 5 } }));
      expect(v?.reason).toBe("policy.maxBudgetUsd: the task asks for a budget of $5, more than node w's limit of $2");
      expect(v?.fix).toBe('give it a budget of 2 or less, with dispatch --max-budget-usd or the claude.maxBudgetUsd field of a handoff or a --from line');
      expect(verdict({ maxBudgetUsd: 2 }, { runner: 'claude' })).toEqual({ ok: true, caps: { budgetUsd: 2 } });
      expect(verdict({ maxBudgetUsd: 2 }, { runner: 'claude', claude: { maxBudgetUsd: 1 } })).toEqual({ ok: true, caps: {} });
    });
    it('does not concern other runners', () => {
      expect(verdict({ maxBudgetUsd: 0 }, { command: 'true' })).toEqual({ ok: true, caps: {} });
    });
  });

  it('reports every field that refuses, with all their fixes', () => {
    const v = refused(verdict({ runners: ['shell'], maxTimeout: '1m', commands: { allow: ['make'] } }, { runner: 'tmux', command: 'top', timeout: '1h' }));
    expect(v?.fields).toEqual(['policy.runners', 'policy.commands.allow', 'policy.maxTimeout']);
    expect(v?.reason.split('; ').length).toBe(3);
    expect(v?.fix).toContain('a timeout of 1m or less');
  });
});

describe('node.yaml policy', () => {
  const base = { node: 'w', remote: '/r.git' };
  it('takes every field', () => {
    const c = nodeConfigSchema.parse({ ...base, policy: { runners: ['shell'], signers: ['a@b', 'SHA256:x'], repos: ['git@h:*'], workRoots: ['src'], commands: { allow: ['make'], deny: ['curl'] }, maxTimeout: '2h', maxBudgetUsd: 3 } });
    expect(c.policy?.maxTimeout).toBe('2h');
  });
  it('refuses a pattern that is not a regular expression, a bad duration, unknown fields and runners', () => {
    const issue = (policy: unknown) => nodeConfigSchema.safeParse({ ...base, policy }).error?.issues[0];
    expect(issue({ commands: { allow: ['(unclosed'] } })?.message).toContain('not a regular expression');
    expect(issue({ commands: { allow: ['(unclosed'] } })?.path.join('.')).toBe('policy.commands.allow.0');
    expect(issue({ maxTimeout: '2 hours' })?.path.join('.')).toBe('policy.maxTimeout');
    expect(issue({ maxTimeout: '0s' })).toBeDefined();
    expect(issue({ maxBudgetUsd: -1 })).toBeDefined();
    expect(issue({ runners: ['docker'] })).toBeDefined();
    expect(issue({ workRoots: ['Bad Name'] })).toBeDefined();
    expect(issue({ commands: { only: ['x'] } })).toBeDefined();
    expect(issue({ maxTimeOut: '1h' })).toBeDefined();
  });
});

describe('the planner with a policy', () => {
  const files = (id: string) => ({ id, handoff: { path: `handoffs/${id}.md`, oid: 'h' }, claims: new Map(), releases: new Map() });
  const view = (id: string, more: Record<string, unknown> = {}) => baseTaskView(files(id), { handoff: { ok: true, data: { title: id, ...more }, body: '', warnings: [] } });
  const policy = (h: Parameters<typeof nodePolicyVerdict>[1]) => nodePolicyVerdict({ commands: { allow: ['make'] } }, h, { node: 'w' });
  const who = { node: 'w', labels: [], policy };

  it('skips a refused task for anyone, saying why, so that another node may take it', () => {
    const e = eligibility(view('a', { command: 'rm -rf /' }), who, 3);
    expect(e).toMatchObject({ ok: false, refusedByPolicy: true });
    expect(e.reason).toBe('this node\'s policy refuses it: policy.commands.allow: the command "rm -rf /" matches none of the patterns node w allows (/^(?:make)$/)');
    expect(eligibility(view('a', { command: 'make' }), who, 3).ok).toBe(true);
    expect(claimQueue([view('bad', { command: 'rm' }), view('good', { command: 'make' })], who, 3).map((v) => v.id)).toEqual(['good']);
  });

  it('a refused task addressed to this node is claimable by a claimer that answers refusals, and only by it', () => {
    const addressed = view('a', { command: 'rm', to: 'w' });
    expect(eligibility(addressed, who, 3).ok).toBe(false);
    expect(eligibility(addressed, { ...who, answerRefusals: true }, 3).ok).toBe(true);
    expect(eligibility(view('b', { command: 'rm' }), { ...who, answerRefusals: true }, 3).ok).toBe(false);
  });

  it('a refusal that says leaveAlone is skipped even addressed to this node by a claimer that answers refusals', () => {
    // A trust verdict on a task whose claim was removed under its holder: a claim and an answer would land under its run.
    const untrusted = untrustedVerdict(claimRemoved('a', 1));
    expect(untrusted).toMatchObject({ ok: false, leaveAlone: true });
    const judge = () => untrusted;
    const addressed = view('a', { command: 'make', to: 'w' });
    const e = eligibility(addressed, { ...who, policy: judge, answerRefusals: true }, 3);
    expect(e).toMatchObject({ ok: false, refusedByPolicy: true });
    expect(e.reason).toMatch(/^this node's policy refuses it: untrusted: replayed: this node saw task a claimed \(attempt 1\), and that claim was removed/);
    expect(claimQueue([addressed], { ...who, policy: judge, answerRefusals: true }, 3)).toEqual([]);
    // Another refusal of the same task is still answered.
    const answered = untrustedVerdict({ trusted: false, reason: 'unsigned', fix: 'sign it' });
    expect(answered).not.toHaveProperty('leaveAlone');
    expect(eligibility(addressed, { ...who, policy: () => answered, answerRefusals: true }, 3).ok).toBe(true);
  });

  it('other reasons come first: a task for another node is not the policy\'s business', () => {
    expect(eligibility(view('a', { command: 'rm', to: 'x' }), who, 3)).toMatchObject({ ok: false, reason: 'it is addressed to node x' });
  });
});

describe('what runs', () => {
  it('a refusal becomes the response reason, saying nothing ran and how to fix it', () => {
    const v = nodePolicyVerdict({ maxTimeout: '1m' }, { command: 'true', timeout: '1h' }, { node: 'w' });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(policyRefusal('w', v)).toBe("refused by node w's policy, nothing was run: policy.maxTimeout: the task's timeout 1h is longer than node w's limit of 1m (give it a timeout of 1m or less, with dispatch --timeout or the timeout field of a handoff or a --from line)");
  });

  it('the budget cap lowers what the node grants claude, so claude gets it as --max-budget-usd', () => {
    const c = nodeConfigSchema.parse({ node: 'w', remote: '/r' });
    expect(cappedConfig(c, {})).toBe(c);
    expect(cappedConfig(c, { budgetUsd: 2 }).claude?.maxBudgetUsd).toBe(2);
    expect(cappedConfig({ ...c, claude: { maxBudgetUsd: 1, model: 'x' } }, { budgetUsd: 2 }).claude).toEqual({ maxBudgetUsd: 1, model: 'x' });
    const inv = claudeInvocation({}, cappedConfig(c, { budgetUsd: 2 }).claude);
    expect('argv' in inv && inv.argv.join(' ')).toContain('--max-budget-usd 2');
  });

  it('errors say the policy refused: nothing claimable lists the refused tasks; a card refusal says the node answers a forced one', () => {
    const e = new NothingClaimableError('w', 3, [{ id: 't1', reason: "this node's policy refuses it: policy.maxTimeout: long", fix: 'f' }]);
    expect(e.message.split('\n')[0]).toBe("nothing this node (w) may claim (2 live task(s) are for other nodes or labels, blocked, or invalid; 1 refused by this node's policy: t1 (policy.maxTimeout: long))");
    expect(e.data['refused']).toHaveLength(1);
    expect(new NothingClaimableError('w', 0).message.split('\n')[0]).toBe('nothing this node (w) may claim');
    expect(new NodeCannotRunError('w', ['r'], 'fix', true).fix).toContain('the node then answers it failed');
    expect(new NodeCannotRunError('w', ['r'], 'fix').fix).toContain('waits until the node can run it');
  });
});
