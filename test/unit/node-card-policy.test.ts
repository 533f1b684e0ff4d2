import { describe, it, expect } from 'vitest';
import { cardRefusal, nodePolicyVerdict, policyOfCard, type PolicyTask } from '../../bus/model/node-policy.js';
import { cardListsLeftOut, cardPolicy, offeredRunners, policyJudge } from '../../bus/node-policy.js';
import { nodeConfigSchema, type NodeConfig } from '../../bus/home.js';
import { nodeCardSchema } from '../../schemas/node-card.js';
import { nodeCard } from '../../bus/node-card.js';
import { parseBusFile, renderBusFile } from '../../schemas/bus-file.js';

// What a node's card says of its policy, and how a dispatcher or another node judges a task by it (split from
// node-policy.test.ts, which judges the policy on the node itself).
describe('the node judge and the node card', () => {
  const config = (policy: NodeConfig['policy'], more: Partial<NodeConfig> = {}): NodeConfig =>
    nodeConfigSchema.parse({ node: 'w', remote: '/r.git', runners: ['shell', 'tmux', 'claude'], workRoots: { src: '/src' }, projects: { app: { url: '../app.git' } }, policy, ...more });

  it('judges with the node\'s roots and projects (relative URLs resolved against the home), and no signer by default', () => {
    const judge = policyJudge('/home/g', config({ repos: ['app'], workRoots: [] }));
    expect(judge?.({ title: 't', command: 'true', repo: '/home/app.git' }, 'x').ok).toBe(true);
    expect(judge?.({ title: 't', command: 'true', workdir: 'src/x' }, 'x').ok).toBe(false);
    expect(policyJudge('/h', config(undefined))).toBeUndefined();
    const signed = policyJudge('/h', config({ signers: ['alice'] }));
    expect(signed?.({ title: 't', command: 'true' }, 'x')).toMatchObject({ ok: false, fields: ['policy.signers'] });
    const plugged = policyJudge('/h', config({ signers: ['alice'] }), (_h, id) => (id === 'good' ? { principals: ['alice'], fingerprint: 'SHA256:a' } : null));
    expect(plugged?.({ title: 't', command: 'true' }, 'good').ok).toBe(true);
    expect(plugged?.({ title: 't', command: 'true' }, 'bad').ok).toBe(false);
  });

  it('the card offers the runners both enabled and allowed (manual always), and the policy without its command patterns', () => {
    const c = config({ runners: ['shell', 'icecc'], repos: ['app'], commands: { allow: ['make'] }, maxTimeout: '2h', maxBudgetUsd: 3, signers: ['alice'], workRoots: ['src'] });
    expect(offeredRunners(c)).toEqual(['manual', 'shell']);
    const card = nodeCard(c, '2026-01-01T00:00:00.000Z', new Date('2026-01-02T00:00:00Z'), '/home/g');
    expect(card.runners).toEqual(['manual', 'shell']);
    expect(card.policy).toEqual({ signers: ['alice'], repos: ['app', '/home/app.git'], workRoots: ['src'], commands: true, maxTimeout: '2h', maxBudgetUsd: 3 });
    expect(nodeCardSchema.safeParse(card).success).toBe(true);
    expect(policyOfCard({ policy: card.policy ?? {} })).not.toHaveProperty('commands');
    expect(nodeCard(config(undefined), 'x', new Date())).not.toHaveProperty('policy');
    expect(cardPolicy('/h', config(undefined))).toBeUndefined();
  });

  it('the card lists a project URL as a handoff records it: no password, no user name over http(s)', () => {
    const c = config({ repos: ['app'] }, { projects: { app: { url: 'https://me:t0ken@host/o/app.git' } } });
    const card = cardPolicy('/home/g', c) ?? {};
    expect(card.repos).toEqual(['app', 'https://host/o/app.git']);
    expect(nodePolicyVerdict(policyOfCard({ policy: card }), { command: 'true', repo: 'https://host/o/app.git' }, { node: 'w' }).ok).toBe(true);
  });

  it('a dispatcher judging from the card refuses what it can know: a repo URL, the timeout, the budget', () => {
    const card = cardPolicy('/home/g', config({ repos: ['app'], maxTimeout: '2h', maxBudgetUsd: 3, signers: ['alice'], workRoots: [] })) ?? {};
    const refusal = (t: PolicyTask) => cardRefusal({ policy: card }, t, 'w');
    expect(refusal({ command: 'true', repo: '/home/app.git' })).toBeNull();
    expect(refusal({ command: 'true', repo: '/home/other.git' })).toMatchObject({ fields: ['policy.repos'] });
    expect(refusal({ command: 'true', timeout: '3h' })).toMatchObject({ fields: ['policy.maxTimeout'] });
    expect(refusal({ runner: 'claude', claude: { maxBudgetUsd: 4 } })).toMatchObject({ fields: ['policy.maxBudgetUsd'] });
    // Signers and roots are for the node to judge, and a bare project name means what only the node knows.
    expect(refusal({ command: 'true', workdir: 'src/x' })).toBeNull();
    expect(refusal({ command: 'true', repo: 'other' })).toBeNull();
    // A manual task runs nothing there, and a card without a policy refuses nothing.
    expect(refusal({ runner: 'manual', repo: '/home/other.git' })).toBeNull();
    expect(cardRefusal({}, { command: 'true', repo: '/home/other.git', timeout: '3h' }, 'w')).toBeNull();
  });

  it('a card never refuses a spelling of a repo its node takes, nor takes one its node refuses: file://, repeated slashes, .git; an SSH user as written', () => {
    const c = config({ repos: ['proj', 'ssh'] }, { projects: { proj: { url: '/srv/x.git' }, ssh: { url: 'host:org/p.git' } } });
    const card = nodeCard(c, '2026-01-01T00:00:00.000Z', new Date('2026-01-02T00:00:00Z'), '/home/g');
    expect(card.policy?.repos).toEqual(['proj', 'ssh', '/srv/x.git', 'host:org/p.git']);
    const judge = policyJudge('/home/g', c);
    const spellings = ['/srv/x.git', 'file:///srv/x.git', 'file://localhost/srv/x.git', '/srv/x.git/', '/srv//x.git', '/srv/x', 'file:///srv/x', 'host:org/p.git', 'host:org/p', 'host:org/p/'];
    for (const repo of spellings) {
      const task = { title: 't', command: 'true', repo };
      expect(judge?.(task, 'x').ok, repo).toBe(true);
      expect(cardRefusal(card, task, 'w'), repo).toBeNull();
    }
    // What the node refuses, its card refuses too.
    // An SSH user the project URL does not give is another user's home on that host: refused on both sides.
    for (const repo of ['/srv/y.git', 'file:///srv/y.git', 'git@host:org/q', 'git@host:org/p', 'evil@host:org/p.git']) {
      expect(judge?.({ title: 't', command: 'true', repo }, 'x').ok, repo).toBe(false);
      expect(cardRefusal(card, { command: 'true', repo }, 'w'), repo).toMatchObject({ fields: ['policy.repos'] });
    }
  });

  it('projectsOnly is judged before the claim, as the worktree code finds a project: by name, or by URL in any spelling', () => {
    const c = config(undefined, { projectsOnly: true, projects: { app: { url: '../app.git' }, web: { url: 'https://me:t0ken@host/o/web.git' } } });
    const judge = policyJudge('/home/g', c);
    const verdict = (repo: string) => judge?.({ title: 't', command: 'true', repo }, 'x');
    // A path's ".git" does not matter, as a URL's does not: git opens /home/app.git for /home/app when only the
    // former exists (bus/project/remote-url.ts localRemotePath).
    for (const repo of ['app', '/home/app.git', '/home/app', 'file:///home/app.git', 'file:///home/app', '/home/app.git/', 'web', 'https://host/o/web.git', 'https://host/o/web']) expect(verdict(repo)?.ok, repo).toBe(true);
    // A name is that name exactly: "app.git" is neither the project app nor a remote.
    for (const repo of ['other', 'app.git', '/home/other.git', 'https://host/o/app.git']) expect(verdict(repo)).toMatchObject({ ok: false, fields: ['projectsOnly'] });
    expect(verdict('/srv/x.git')).toMatchObject({ reason: 'projectsOnly: node w takes project tasks only for the projects its node.yaml lists (app, web), and the task\'s repo is "/srv/x.git"', fix: expect.stringContaining('add it under "projects" in w\'s node.yaml') });
    // Not a project task, or a manual one: nothing to refuse.
    expect(judge?.({ title: 't', command: 'true' }, 'x').ok).toBe(true);
    expect(judge?.({ title: 't', runner: 'manual', repo: '/srv/x.git' }, 'x').ok).toBe(true);
    // With a policy too, both judge: each refusing field is named.
    const both = policyJudge('/home/g', { ...c, policy: { repos: ['/srv/*'] } });
    expect(both?.({ title: 't', command: 'true', repo: '/srv/x.git' }, 'x')).toMatchObject({ ok: false, fields: ['projectsOnly'] });
    expect(both?.({ title: 't', command: 'true', repo: '/elsewhere/y.git' }, 'x')).toMatchObject({ ok: false, fields: ['policy.repos', 'projectsOnly'] });
  });

  it('the card publishes projectsOnly as names and URLs without credentials; a dispatcher judges from it, an older card has none', () => {
    const c = config(undefined, { projectsOnly: true, projects: { app: { url: '../app.git' }, web: { url: 'https://me:t0ken@host/o/web.git' } } });
    const card = nodeCard(c, '2026-01-01T00:00:00.000Z', new Date('2026-01-02T00:00:00Z'), '/home/g');
    expect(card.projectsOnly).toEqual(['app', '/home/app.git', 'web', 'https://host/o/web.git']);
    expect(card).not.toHaveProperty('policy');
    expect(nodeCardSchema.safeParse(card).success).toBe(true);
    const fromCard = (repo: string) => nodePolicyVerdict(policyOfCard(card), { command: 'true', repo }, { node: 'w' });
    expect(fromCard('app').ok).toBe(true);
    expect(fromCard('https://host/o/web.git/').ok).toBe(true);
    expect(fromCard('nt')).toMatchObject({ ok: false, fields: ['projectsOnly'] });
    expect(fromCard('/srv/x.git')).toMatchObject({ ok: false, fields: ['projectsOnly'] });
    expect(policyOfCard({})).toBeUndefined();
    expect(nodeCard(config(undefined), 'x', new Date(), '/home/g')).not.toHaveProperty('projectsOnly');
  });
});

describe('a repo list too long for the node card', () => {
  const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`app-${i}`, { url: `https://host/o/app-${i}.git` }]));
  const config = (policy: NodeConfig['policy'], more: Partial<NodeConfig> = {}): NodeConfig =>
    nodeConfigSchema.parse({ node: 'w', remote: '/r.git', runners: ['shell'], policy, ...more });
  const judgeByCard = (card: ReturnType<typeof nodeCard>, repo: string) => nodePolicyVerdict(policyOfCard(card), { command: 'true', repo }, { node: 'w' });

  it('is left off the card whole, never cut, and the node says which and how long: policy.repos, as projectsOnly', () => {
    // One pattern and the URLs of the 300 projects it admits: 301 entries.
    const c = config({ repos: ['app-*'], maxTimeout: '2h' }, { projects: many(300) });
    const card = nodeCard(c, '2026-01-01T00:00:00.000Z', new Date('2026-01-02T00:00:00Z'), '/home/g');
    expect(card.policy).toEqual({ maxTimeout: '2h' });
    expect(nodeCardSchema.safeParse(card).success).toBe(true);
    expect(cardListsLeftOut('/home/g', c)).toEqual([{ field: 'policy.repos', count: 301 }]);
    // A dispatcher reading the card refuses no repo the node may take: the 301st included.
    expect(judgeByCard(card, 'https://host/o/app-299.git').ok).toBe(true);
    // The node itself still judges by node.yaml.
    expect(policyJudge('/home/g', c)?.({ title: 't', command: 'true', repo: 'https://host/o/other.git' }, 'x').ok).toBe(false);

    // 300 entries are left out too: a reader takes a list of exactly 300 for one an earlier build cut (policyOfCard),
    // so a published list has at most 299.
    const boundary = config({ repos: ['app-*'] }, { projects: many(299) });
    expect(cardPolicy('/home/g', boundary)).not.toHaveProperty('repos');
    expect(cardListsLeftOut('/home/g', boundary)).toEqual([{ field: 'policy.repos', count: 300 }]);
    const fits = config({ repos: ['app-*'] }, { projects: many(298) });
    expect(cardPolicy('/home/g', fits)?.repos).toHaveLength(299);
    expect(cardListsLeftOut('/home/g', fits)).toEqual([]);
    // What the writer publishes, its readers take whole.
    expect(judgeByCard(nodeCard(fits, 'x', new Date(), '/home/g'), 'https://host/o/other.git')).toMatchObject({ ok: false, fields: ['policy.repos'] });

    const only = config(undefined, { projectsOnly: true, projects: many(150) });
    expect(nodeCard(only, 'x', new Date(), '/home/g')).not.toHaveProperty('projectsOnly');
    expect(cardListsLeftOut('/home/g', only)).toEqual([{ field: 'projectsOnly', count: 300 }]);
    const onlyFits = config(undefined, { projectsOnly: true, projects: many(149) });
    expect(nodeCard(onlyFits, 'x', new Date(), '/home/g').projectsOnly).toHaveLength(298);
    expect(cardListsLeftOut('/home/g', onlyFits)).toEqual([]);
  });

  it('a card\'s policy.repos of exactly 300, as older builds cut a longer one, refuses nothing; a shorter one does', () => {
    const listed = Array.from({ length: 300 }, (_, i) => `https://host/o/app-${i}.git`);
    expect(nodePolicyVerdict(policyOfCard({ policy: { repos: listed } }), { command: 'true', repo: 'https://host/o/app-300.git' }, { node: 'w' }).ok).toBe(true);
    expect(nodePolicyVerdict(policyOfCard({ policy: { repos: listed.slice(0, 299) } }), { command: 'true', repo: 'https://host/o/app-300.git' }, { node: 'w' })).toMatchObject({ ok: false, fields: ['policy.repos'] });
  });

  it('a card\'s projectsOnly of exactly 300, which no writer publishes, is read as left out: it refuses nothing, and lint warns', () => {
    const listed = Array.from({ length: 300 }, (_, i) => `app-${i}`);
    expect(nodePolicyVerdict(policyOfCard({ projectsOnly: listed }), { command: 'true', repo: 'https://host/o/other.git' }, { node: 'w' }).ok).toBe(true);
    expect(nodePolicyVerdict(policyOfCard({ projectsOnly: listed.slice(0, 299) }), { command: 'true', repo: 'https://host/o/other.git' }, { node: 'w' })).toMatchObject({ ok: false, fields: ['projectsOnly'] });
    for (const card of [{ projectsOnly: listed }, { policy: { repos: listed } }]) {
      const field = 'projectsOnly' in card ? 'projectsOnly' : 'policy.repos';
      const r = parseBusFile('nodes/w.md', renderBusFile('node', { node: 'w', ...card }));
      expect(r.ok && r.warnings, field).toEqual([expect.objectContaining({ field, severity: 'warning', reason: expect.stringContaining('300'), fix: expect.stringContaining('upgrade gitbus on w') })]);
    }
    const fits = parseBusFile('nodes/w.md', renderBusFile('node', { node: 'w', projectsOnly: listed.slice(0, 299) }));
    expect(fits.ok && fits.warnings).toEqual([]);
  });
});
