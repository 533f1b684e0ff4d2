import type { Handoff } from '../../schemas/handoff.js';
import { dueOfInstanceId, instanceId, latestDue, renderInstance } from '../model/schedule.js';
import type { TaskState } from '../model/types.js';
import type { HandoffTrust } from './handoff-trust.js';
import { instantMs } from '../../schemas/timestamp.js';

/**
 * Trust by derivation for a schedule's instances (docs/PROTOCOL.md §12, "What a node verifies before acting"),
 * pure. A watcher dispatches an instance unsigned (it holds no person's key), so an instance without a signature of
 * its own is trusted exactly when it is what the signed template makes: its id names a due time the template's
 * schedule produces, not after now; the template is in main, still scheduled, and itself trusted for this node; and
 * its bytes are exactly what dispatchDue renders for that time (renderInstance, shared with dispatchDue). Then the
 * template's signer speaks for it. Anything else is `unsigned:` with the condition that failed.
 */

/** The template as one snapshot holds it, and this node's verdict on its own signature (handoffTrust). */
export interface TemplateFacts {
  id: string;
  state: TaskState;
  handoff: Handoff | undefined;
  body: string;
  verdict: HandoffTrust;
}

export interface InstanceFacts {
  id: string;
  path: string;
  bytes: Uint8Array;
}

const FIX = 'let the watchers dispatch the schedule\'s instances (an instance is trusted only as its signed template renders it), or dispatch the task again signed';

/** The verdict on an unsigned handoff whose `from` names the schedule `templateId`; `template` null: not in main. */
export function scheduledInstanceTrust(instance: InstanceFacts, templateId: string, template: TemplateFacts | null, now: Date): HandoffTrust {
  const refuse = (why: string, fix = FIX): HandoffTrust => ({
    trusted: false,
    reason: `unsigned: ${instance.path} has no signature, and it is not a trusted instance of schedule ${templateId}: ${why}`,
    fix,
  });
  const due = dueOfInstanceId(instance.id);
  if (!due || instanceId(templateId, due) !== instance.id) return refuse(`its id is not ${templateId}'s instance id for a due time (${instanceId(templateId, new Date(0)).replace(/19700101000000$/, 'YYYYMMDDhhmmss')})`);
  const when = due.toISOString();
  if (!template) return refuse(`the template ${templateId} is not in main (archived, removed, or never there)`);
  const schedule = template.handoff?.schedule;
  if (!template.handoff) return refuse(`the template ${templateId} does not parse`);
  if (!schedule) return refuse(`the task ${templateId} has no schedule`);
  if (template.state !== 'scheduled') return refuse(`the template ${templateId} is ${template.state}, so its schedule stopped`);
  if (!template.verdict.trusted) return refuse(`the template is not trusted: ${template.verdict.reason}`, template.verdict.fix);
  if (due.getTime() > now.getTime()) return refuse(`its due time ${when} is after this node's clock (${now.toISOString()})`);
  const created = template.handoff.created === undefined ? undefined : new Date(instantMs(template.handoff.created));
  let produced: Date | null;
  try {
    produced = latestDue(schedule, due, created);
  } catch {
    produced = null;
  }
  if (produced?.getTime() !== due.getTime()) {
    const before = created !== undefined && due.getTime() < created.getTime();
    return refuse(before ? `its due time ${when} is before the template was created (${template.handoff.created ?? ''})` : `the schedule "${schedule}" does not produce the due time ${when}`);
  }
  const rendered = renderInstance({ id: templateId, handoff: template.handoff, body: template.body }, due);
  if (!rendered.ok) return refuse(rendered.reason);
  if (!Buffer.from(rendered.text, 'utf8').equals(Buffer.from(instance.bytes))) {
    return refuse(`its bytes are not what the template renders for ${when} (changed after it was dispatched, or not written by a watcher)`);
  }
  return { trusted: true, signer: template.verdict.signer, rule: template.verdict.rule, via: `schedule ${templateId}` };
}
