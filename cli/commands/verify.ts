import type { Command } from 'commander';
import { verifyTask, type TaskSignatures, type VerifiedFile } from '../../bus/trust/verify-task.js';
import type { SignatureReport } from '../../bus/trust/file-signatures.js';
import { EXIT } from '../exit-codes.js';
import { offlineNote, withBus, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';
import { handoffVerdictWord, problemLine } from '../format.js';

export function register(program: Command): void {
  withCommon(
    program
      .command('verify')
      .argument('<id>', 'task id, or a unique prefix or suffix of it')
      .description('check the signatures of a task\'s files (handoff, claims, releases, cancel, response) and name their signers; on a node that pinned the trust root, also whether it would run the task and which files count; exits 8 when a signature does not verify'),
  ).action(async (id: string, opts: CommonOptions) =>
    withBus(opts, async (ctx) => {
      const r = await verifyTask(ctx, id);
      if (!opts.json) offlineNote(r.offline);
      emit(opts, r, () => human(r));
      if (r.files.some((f) => f.status === 'invalid')) process.exitCode = EXIT.invalid;
    }),
  );
}

function who(s: SignatureReport): string {
  if (s.principals === null) return 'no trust/allowed_signers on this bus';
  if (s.principals.length > 0) return s.principals.join(', ');
  return s.refused.length > 0 ? `not allowed now: ${s.refused.map((r) => r.reason).join('; ')}` : 'not in trust/allowed_signers';
}

function fileLines(f: VerifiedFile): string[] {
  // An unsigned file has no signature lines, but still its verdict: an unsigned handoff is refused, a claim forged.
  const lines: string[] = [];
  // What holds a sidecar's name without being a file is named, not taken for "no signature"; a verdict's fix says
  // the same where there is one.
  for (const u of f.unread ?? []) lines.push(`  ${f.path}: unsigned: ${u.reason}`, ...(f.verdict?.fix ? [] : [`      fix: ${u.fix}`]));
  if (f.status === 'unsigned' && !f.unread?.length) lines.push(`  ${f.path}: unsigned`);
  for (const s of f.signatures) {
    const by = s.signer ? `${s.signer.fingerprint} (${who(s)})` : 'an unreadable key';
    if (s.ok) lines.push(`  ${f.path}: verified, signed by ${by}`);
    else lines.push(`  ${f.path}: INVALID (${s.reason ?? 'unknown'}): ${s.message ?? ''}${s.signer ? ` [key ${by}]` : ''}`, `      fix: ${s.fix ?? ''}`);
  }
  if (f.verdict) {
    const handoff = f.path.startsWith('handoffs/');
    const word = handoff ? handoffVerdictWord(f.verdict) : f.verdict.trusted ? 'counts here' : 'does not count here';
    lines.push(`      trust: ${word}: ${f.verdict.reason}`);
    if (f.verdict.fix) lines.push(`      fix: ${f.verdict.fix}`);
  }
  return lines;
}

function human(r: TaskSignatures): string {
  const count = (s: string): number => r.files.filter((f) => f.status === s).length;
  const lines = [`task ${r.id}${r.archived ? ` (archived ${r.archived})` : ''}: ${r.files.length} file(s): ${count('verified')} verified, ${count('unsigned')} unsigned, ${count('invalid')} invalid`];
  for (const f of r.files) lines.push(...fileLines(f));
  if (r.allowedSigners) {
    const from = r.allowedSigners.source === 'accepted' ? `of trust version ${r.allowedSigners.version ?? '?'} (accepted by this node)` : '(the bus\'s copy, not trusted: anyone with push access can edit it; pin the trust root with "gitbus trust pin")';
    lines.push(`signers checked against trust/allowed_signers ${from}: ${r.allowedSigners.entries} key line(s)${r.allowedSigners.problems.length ? `, ${r.allowedSigners.problems.length} problem(s):` : ''}`);
    for (const p of r.allowedSigners.problems) lines.push(`  ${problemLine(p)}`);
  }
  return lines.join('\n');
}
