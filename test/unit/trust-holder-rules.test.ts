import { describe, expect, it } from 'vitest';
import type { FileRef, ForgedFile, TaskFiles } from '../../bus/model/types.js';
import { renderVersion } from '../../bus/trust/change.js';
import { holdersToTakeOver } from '../../bus/trust/node-files.js';
import { nodeSignerLine } from '../../bus/trust/node-keys.js';
import { parseKeyBlob } from '../../bus/trust/ssh-key.js';
import { filterTaskFiles, type JudgedFile } from '../../bus/trust/task-file-filter.js';
import { makeKey } from '../helpers/sshsig-forge.js';

/**
 * The holder rules of bus/trust/task-file-filter.ts, on a node that enforces trust (docs/PROTOCOL.md §12, "Who may
 * end or free another node's claim"): each file's own verdict is given (signed by a listed node, or counted as an
 * unlisted node's), and what is checked is which of them still count against the claim they would free, end or
 * take over. Listed nodes: w, v. Unlisted: ghost, u (the version accepts unlisted nodes).
 */

const ID = '20261204-150000-holder';
const LISTED = new Set(['w', 'v']);

interface FileSpec {
  node: string | null;
  status?: string;
  attempt?: number;
  /** Forged on its own (unsigned in a listed node's name, say). */
  forged?: boolean;
  /** It does not parse (node null) but this listed node's key signed it. */
  signedAs?: string;
}

function task(files: { claims?: Record<number, FileSpec>; releases?: Record<number, FileSpec>; response?: FileSpec }) {
  const specs = new Map<string, FileSpec>();
  const ref = (path: string, spec: FileSpec): FileRef => {
    specs.set(path, spec);
    return { path, oid: path };
  };
  const t: TaskFiles = {
    id: ID,
    claims: new Map(Object.entries(files.claims ?? {}).map(([a, s]) => [Number(a), ref(`claims/${ID}.${a}.md`, s)])),
    releases: new Map(Object.entries(files.releases ?? {}).map(([a, s]) => [Number(a), ref(`releases/${ID}.${a}.md`, s)])),
  };
  if (files.response) t.response = ref(`responses/${ID}.md`, files.response);
  const judge = async (r: FileRef, kind: ForgedFile['kind']): Promise<JudgedFile> => {
    const s = specs.get(r.path);
    if (!s) throw new Error(`no spec for ${r.path}`);
    if (s.forged) return { forged: { path: r.path, kind, node: s.node, reason: 'forged on its own', fix: 'remove it' } };
    const data = s.node === null ? null : { node: s.node, ...(s.status ? { status: s.status } : {}), ...(s.attempt !== undefined ? { attempt: s.attempt } : {}) };
    if (s.signedAs !== undefined) return { forged: null, path: r.path, where: r.path, signed: true, node: s.signedAs, data };
    return { forged: null, path: r.path, where: r.path, signed: s.node !== null && LISTED.has(s.node), node: s.node, data };
  };
  return { files: t, judge };
}

async function judged(files: Parameters<typeof task>[0]) {
  const t = task(files);
  const forged: ForgedFile[] = [];
  const out = await filterTaskFiles(t.files, t.judge, forged);
  return {
    claims: [...out.claims.keys()].sort(),
    releases: [...out.releases.keys()].sort(),
    response: out.response !== undefined,
    takenAttempt: out.takenAttempt,
    forged: forged.map((f) => `${f.path}: ${f.reason}`),
    unchanged: out === t.files,
  };
}

const w1 = { 1: { node: 'w' } };

describe('who may free, end or take over another node\'s claim, under trust', () => {
  it('a release counts only from the node holding the claim it gives back', async () => {
    expect(await judged({ claims: w1, releases: { 1: { node: 'w' } } })).toMatchObject({ releases: [1], forged: [], unchanged: true });
    for (const node of ['ghost', 'v']) {
      const r = await judged({ claims: w1, releases: { 1: { node } } });
      expect(r.releases).toEqual([]);
      expect(r.forged).toEqual([`releases/${ID}.1.md: a release in the name of node ${node}, but attempt 1 is held by node w: only the node holding a claim gives it back`]);
    }
    // An unlisted holder is held to the same rule: a release is its holder's.
    expect((await judged({ claims: { 1: { node: 'u' } }, releases: { 1: { node: 'ghost' } } })).releases).toEqual([]);
  });

  it('a succeeded or timed-out result counts only from the holder of the attempt it names', async () => {
    expect(await judged({ claims: w1, response: { node: 'w', status: 'succeeded', attempt: 1 } })).toMatchObject({ response: true, forged: [] });
    expect(await judged({ claims: { 1: { node: 'u' } }, response: { node: 'u', status: 'timed-out', attempt: 1 } })).toMatchObject({ response: true, forged: [] });
    expect(await judged({ claims: w1, response: { node: 'w', status: 'succeeded' } })).toMatchObject({ response: true, forged: [] });
    for (const [node, status, attempt] of [['ghost', 'succeeded', 1], ['v', 'succeeded', 1], ['w', 'succeeded', 2], ['ghost', 'timed-out', 1]] as const) {
      const r = await judged({ claims: w1, response: { node, status, attempt } });
      expect(r.response, `${node} ${status} ${attempt}`).toBe(false);
      expect(r.forged[0]).toContain(`a ${status} result in the name of node ${node} for attempt ${attempt}, but attempt 1 is held by node w: only the node that runs a task reports it ${status}`);
    }
    const none = await judged({ response: { node: 'ghost', status: 'succeeded' } });
    expect(none.forged).toEqual([`responses/${ID}.md: a succeeded result in the name of node ghost for no attempt, but no claim of the task counts: only the node that runs a task reports it succeeded`]);
  });

  it("a failed or cancelled end of a listed node's open claim counts only from a listed node", async () => {
    const open = { claims: w1 };
    expect(await judged({ ...open, response: { node: 'v', status: 'failed', attempt: 1 } })).toMatchObject({ response: true, forged: [] });
    expect(await judged({ ...open, response: { node: 'w', status: 'cancelled', attempt: 1 } })).toMatchObject({ response: true, forged: [] });
    const ghost = await judged({ ...open, response: { node: 'ghost', status: 'failed', attempt: 1 } });
    expect(ghost.response).toBe(false);
    expect(ghost.forged).toEqual([`responses/${ID}.md: ends attempt 1, held by node w, which the trust version lists, in the name of node ghost, which it does not: only a listed node ends another listed node's task`]);
    // An unlisted holder's claim may be ended by another unlisted node (a bus migrating), and a task no claim holds
    // by anyone (as a cancel may stop it).
    expect(await judged({ claims: { 1: { node: 'u' } }, response: { node: 'ghost', status: 'failed', attempt: 1 } })).toMatchObject({ response: true, forged: [] });
    expect(await judged({ claims: w1, releases: { 1: { node: 'w' } }, response: { node: 'ghost', status: 'failed', attempt: 1 } })).toMatchObject({ response: true, forged: [] });
    expect(await judged({ response: { node: 'ghost', status: 'cancelled' } })).toMatchObject({ response: true, forged: [] });
  });

  it("a claim by an unlisted node does not take over a listed node's open claim", async () => {
    const r = await judged({ claims: { 1: { node: 'w' }, 2: { node: 'ghost' } } });
    expect(r).toMatchObject({ claims: [1], takenAttempt: 2 });
    expect(r.forged).toEqual([`claims/${ID}.2.md: attempt 2 in the name of node ghost, which the trust version does not list, would take over attempt 1 of node w, which it lists: only a listed node takes over a listed node's claim`]);
    // ... nor through a release it wrote itself: its release of its own attempt cannot free w's claim below.
    expect(await judged({ claims: { 1: { node: 'w' }, 2: { node: 'ghost' } }, releases: { 2: { node: 'ghost' } } })).toMatchObject({ claims: [1], releases: [2] });
    expect(await judged({ claims: { 1: { node: 'w' }, 2: { node: 'v' } } })).toMatchObject({ claims: [1, 2], forged: [] });
    expect(await judged({ claims: { 1: { node: 'w' }, 2: { node: 'ghost' } }, releases: { 1: { node: 'w' } } })).toMatchObject({ claims: [1, 2], forged: [] });
    expect(await judged({ claims: { 1: { node: 'u' }, 2: { node: 'ghost' } } })).toMatchObject({ claims: [1, 2], forged: [] });
    // Claims stacked in a made-up name are each judged against the listed claim below them, not the one just below.
    const stacked = await judged({ claims: { 1: { node: 'w' }, 2: { node: 'ghost' }, 3: { node: 'ghost' } }, response: { node: 'ghost', status: 'succeeded', attempt: 3 } });
    expect(stacked).toMatchObject({ claims: [1], takenAttempt: 3, response: false });
    expect(stacked.forged).toHaveLength(3);
    expect(await judged({ claims: { 1: { node: 'w' }, 2: { node: 'u' }, 3: { node: 'ghost' } }, releases: { 1: { node: 'w' } } })).toMatchObject({ claims: [1, 2, 3], forged: [] });
    // A forged claim between them is passed over to the claim it would take over.
    const between = await judged({ claims: { 1: { node: 'w' }, 2: { node: 'v', forged: true }, 3: { node: 'ghost' } } });
    expect(between).toMatchObject({ claims: [1], takenAttempt: 3 });
    expect(between.forged).toHaveLength(2);
  });

  it("a file that does not parse neither frees nor ends a listed node's claim", async () => {
    const release = await judged({ claims: w1, releases: { 1: { node: null } } });
    expect(release.releases).toEqual([]);
    expect(release.forged).toEqual([`releases/${ID}.1.md: a release in the name of no node (it does not parse), but attempt 1 is held by node w: only the node holding a claim gives it back`]);
    const response = await judged({ claims: w1, response: { node: null } });
    expect(response.response).toBe(false);
    expect(response.forged).toEqual([`responses/${ID}.md: it does not parse, so it names no node, and attempt 1 is held by node w, which the trust version lists: only a listed node ends another listed node's task`]);
    // A claim that does not parse but that w's key signed is w's: w's own release and result count.
    expect(await judged({ claims: { 1: { node: null, signedAs: 'w' } }, releases: { 1: { node: 'w' } } })).toMatchObject({ releases: [1], forged: [] });
    expect(await judged({ claims: { 1: { node: null, signedAs: 'w' } }, response: { node: 'w', status: 'succeeded', attempt: 1 } })).toMatchObject({ response: true, forged: [] });
    // Where no listed node holds the task, its own problems say what is wrong with it, as before.
    expect(await judged({ claims: { 1: { node: 'u' } }, response: { node: null } })).toMatchObject({ response: true, forged: [] });
    expect(await judged({ response: { node: null } })).toMatchObject({ response: true, forged: [] });
  });
});

describe('whose silent claims a node reclaims or reaps, under trust', () => {
  const key = () => parseKeyBlob(makeKey('ed25519').blob);
  const accepted = renderVersion({
    version: 1,
    allowedSigners: `alice ${makeKey('ed25519').line}\n${nodeSignerLine('w', key())}\n${nodeSignerLine('v', key())}\n`,
    policy: { version: 1, admins: ['alice'], rules: [{ signers: ['*'], runners: ['*'], nodes: ['*'] }] },
  }, undefined).version;
  const trust = { accepted, node: {} };
  const silent = new Set(['w', 'u']);

  it('a listed node takes over any silent holder; an unlisted one only unlisted holders, since its end or claim over a listed one would not count', () => {
    expect([...holdersToTakeOver(trust, 'v', silent)].sort()).toEqual(['u', 'w']);
    expect([...holdersToTakeOver(trust, 'x', silent)]).toEqual(['u']);
    expect([...holdersToTakeOver(null, 'x', silent)].sort()).toEqual(['u', 'w']);
  });
});

describe('archived tasks', () => {
  it('are judged file by file only: they ended under the rules of the gitbus that archived them', async () => {
    const t = task({ claims: { 1: { node: 'w' }, 2: { node: 'u' } }, response: { node: 'u', status: 'succeeded', attempt: 2 } });
    const forged: ForgedFile[] = [];
    expect(await filterTaskFiles(t.files, t.judge, forged, false)).toBe(t.files);
    expect(forged).toEqual([]);
  });
});
