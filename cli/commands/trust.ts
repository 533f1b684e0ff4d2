import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../../bus/errors.js';
import type { TrustEdit, PublicKey } from '../../bus/trust/change.js';
import { readKeyFile } from '../../bus/trust/key-file.js';
import { SigningKeyInvalidError, SigningKeyMissingError } from '../../bus/trust/errors.js';
import { privateHalfBeside, resolveSigningKey, type SigningKey } from '../../bus/trust/signing-key.js';
import { trustChange, trustSign, type TrustWriteResult } from '../../bus/trust/write.js';
import { initTrustRoot, ownNodeKey, type TrustInitResult } from '../../bus/trust/node-listing.js';
import { pinTrust, trustList, type TrustListView } from '../../bus/trust/view.js';
import { LABEL_RE, NODE_NAME_RE } from '../../schemas/ids.js';
import { RUNNERS } from '../../schemas/field-limits.js';
import { MAX_TRUST_VERSION, PRINCIPAL_RE, PRINCIPAL_RULE, type TrustRule, type UnlistedNodes } from '../../schemas/trust-root.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { durationFlag, intFlag } from '../flags.js';
import { DURATION_RULE } from '../../schemas/duration.js';
import { emit } from '../output.js';
import { digestFlag, fingerprintsFlag, trustChoiceOf } from '../trust-prompt.js';
import { registerNodeKeyCommands, unlistedNodesFlag } from './trust-nodes.js';
import { maxHandoffAgeLine, registerSettingsCommand, trustSettingsLine } from './trust-settings.js';
import { settingsText } from '../../bus/trust/trusted-settings.js';
import { nodeKeysText, ownKeyFailed, ownKeyText } from '../node-keys.js';

interface KeyOpts extends CommonOptions {
  key?: string;
  replace?: boolean;
}

function principalArg(what: string, v: string): string {
  if (!PRINCIPAL_RE.test(v)) throw new InputError(`${what} ${JSON.stringify(v)} is not valid`, `use ${PRINCIPAL_RULE}`, { value: v });
  return v;
}

/**
 * The public key a flag or argument names: `what` is how the message names it (`--admin ada`, `PUBKEYFILE`),
 * `flag` what `data.flag` says. A file that is not a key is the command line's mistake, as a missing one is.
 */
function readPublicKey(file: string, what: string, flag: string): PublicKey {
  const fix = 'give the path of an SSH public key file, the .pub file next to the private key (such as ~/.ssh/id_ed25519.pub)';
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`${what}: cannot read the public key ${file}: ${(err as Error).message}`, fix, { flag, file });
  }
  try {
    // A private key file is read for its public half only (never decrypted).
    return readKeyFile(text, file).key;
  } catch (err) {
    // readKeyFile speaks of a key to sign with; here nothing signs with it, and the fix is another path.
    if (!(err instanceof SigningKeyInvalidError)) throw err;
    throw new InputError(`${what}: ${file} is not an SSH public key: ${String(err.data['why'])}`, fix, { flag, file });
  }
}

/** `--admin NAME=PUBKEYFILE` (repeatable); `file`, where the key was read (its private half may be beside it). */
function adminFlag(v: string, previous: AdminFlag[] = []): AdminFlag[] {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new InputError(`--admin ${JSON.stringify(v)} is not NAME=PUBKEYFILE`, 'give --admin alice=~/.ssh/id_ed25519.pub', { value: v });
  const file = v.slice(eq + 1);
  return [...previous, { principal: principalArg('--admin', v.slice(0, eq)), key: readPublicKey(file, `--admin ${v.slice(0, eq)}`, '--admin'), file }];
}

interface AdminFlag {
  principal: string;
  key: PublicKey;
  file: string;
}

/**
 * `trust init`'s key: as every signing command finds it, else the private half of an --admin key beside its .pub
 * (signing-key.ts privateHalfBeside), `beside` then set: the person named that key as theirs, and making them set
 * signingKey first only to start the root was a needless stop. Said, with the line dispatches need from now on.
 */
async function initKey(opts: KeyOpts, home: string, admins: readonly AdminFlag[]): Promise<{ key: SigningKey; beside: boolean }> {
  try {
    return { key: await keyOf(opts, home), beside: false };
  } catch (err) {
    if (!(err instanceof SigningKeyMissingError)) throw err;
    const found = await privateHalfBeside(admins);
    if (!found) throw err;
    return { key: found, beside: true };
  }
}

function listFlag(flag: string, re: RegExp | null, allowed?: readonly string[]): (v: string) => string[] {
  const fix = `give ${flag} a comma-separated list of ${re ? 'names' : (allowed ?? []).join(', ')}, or *`;
  return (v) => {
    const items = v
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
    // An empty value (a script's unset variable) was an empty list, refused later as the rule's field, not the flag.
    if (items.length === 0) throw new InputError(`${flag} is empty: it names nothing`, fix, { flag, value: v });
    return items.map((x) => {
      if (x === '*' || (re ? re.test(x) : (allowed ?? []).includes(x))) return x;
      throw new InputError(`${flag}: ${JSON.stringify(x)} is not valid`, fix, { flag, value: x });
    });
  };
}

/** The admin's key, found as every signing command finds it: --key, node.yaml signingKey, git's user.signingkey. */
function keyOf(opts: KeyOpts, home: string): Promise<SigningKey> {
  return resolveSigningKey({ ...(opts.key !== undefined ? { key: opts.key } : {}), home });
}

function writeText(r: TrustWriteResult, verb: string): string {
  const who = r.signedBy.map((s) => `${s.principals.join(',')} ${s.fingerprint}`).join(', ');
  if (r.status === 'accepted') return `${verb} trust version ${r.version} (${r.digest}), signed by ${who}`;
  return `${verb} trust version ${r.version} (${r.digest}) as a proposal: signed by ${who}; it needs ${r.needed} admin signatures and waits for ${r.waitingFor.join(', ')} ("gitbus trust sign ${r.version} --key KEY")`;
}

function ruleText(r: TrustRule, i: number): string {
  const parts = [`signers ${r.signers.join(',')}`, `runners ${r.runners.join(',')}`];
  if (r.nodes) parts.push(`nodes ${r.nodes.join(',')}`);
  if (r.labels) parts.push(`labels ${r.labels.join(',')}`);
  if (r.maxTimeout) parts.push(`max timeout ${r.maxTimeout}`);
  if (r.maxBudgetUsd !== undefined) parts.push(`max budget ${r.maxBudgetUsd} USD`);
  return `  ${i + 1}. ${parts.join('; ')}`;
}

/** A key's validity as this machine's clock reads it now (nodes judge by theirs): an expired key signs nothing. */
function validityText(after: string | null, before: string | null, now: Date): string {
  if (before !== null && now > new Date(before)) return `  EXPIRED at ${before}: its signatures do not count`;
  if (after !== null && now < new Date(after)) return `  NOT VALID before ${after}: its signatures do not count yet`;
  return `${after !== null ? `  valid from ${after}` : ''}${before !== null ? `  valid until ${before}` : ''}`;
}

function listText(v: TrustListView): string {
  if (!v.present && !v.pin) return 'the bus has no trust root; start one with "gitbus trust init --admin NAME=PUBKEYFILE --key KEYFILE"';
  const lines: string[] = [];
  const a = v.accepted;
  if (a) {
    lines.push(`trust root: version ${a.version} accepted${v.newest ? ` (the bus has ${v.newest})` : ''}, ${a.digest}`);
    lines.push(`admins: ${a.admins.join(', ')} (threshold ${a.threshold})`);
    lines.push('signers:');
    for (const s of a.signers) lines.push(`  ${s.principals.join(',')}  ${s.fingerprint}${s.namespaces ? `  namespaces ${s.namespaces}` : ''}${validityText(s.validAfter, s.validBefore, new Date())}`);
    lines.push(a.rules.length ? 'rules:' : 'rules: none (nobody may dispatch)');
    a.rules.forEach((r, i) => lines.push(ruleText(r, i)));
    lines.push(trustSettingsLine(a.settings));
    lines.push(maxHandoffAgeLine(a.maxHandoffAge));
    if (v.nodes) lines.push(...nodeKeysText(v.nodes, new Set(v.notEnforced?.nodes.map((n) => n.node) ?? [])));
  } else lines.push('no version of the trust root is accepted');
  const n = v.next;
  if (n?.status === 'pending') lines.push(`proposed: version ${n.version} (${n.digest}), signed by ${n.signedBy.map((s) => s.principals.join(',')).join(', ')}; waits for ${n.needed - n.counted} more of ${n.waitingFor.join(', ')} ("gitbus trust sign ${n.version} --key KEY")`);
  if (n?.status === 'refused') lines.push(`refused: version ${n.version}: ${n.reason}\n  fix: ${n.fix}`);
  const p = v.proposed;
  if (p) {
    lines.push(`  version ${p.version} would have: admins ${p.admins.join(', ')} (threshold ${p.threshold}); signers ${p.signers.map((s) => `${s.principals.join(',')} ${s.fingerprint}`).join(', ')}; node keys ${p.nodeKeys.map((n) => `${n.node} ${n.fingerprint}`).join(', ') || 'none'}; unlisted nodes ${p.unlistedNodes}; settings ${p.settings ? settingsText(p.settings) : 'none'}; max handoff age ${p.maxHandoffAge ?? 'none'}`);
    p.rules.forEach((r, i) => lines.push(`  ${ruleText(r, i)}`));
  }
  const loose = v.notEnforced;
  if (loose) {
    lines.push(`nodes that do not enforce it (they run any handoff, signed or not): ${loose.nodes.map((n) => n.node).join(', ')}`);
    for (const n of loose.nodes) lines.push(`  ${n.node}: ${n.reason}`);
    lines.push(`  fix: ${loose.fix}`);
  }
  if (v.behind) lines.push(`the bus's chain ends at version ${v.behind.bus}, behind the version ${v.behind.accepted} this node accepted: this node keeps its own`);
  if (v.pin) lines.push(`this node pinned version ${v.pin.version} (${v.pin.digest}) on ${v.pin.at} (${v.pin.how}) and accepts version ${v.pin.accepted}`);
  else lines.push('this node has not pinned the trust root: "gitbus trust pin" shows the admin keys to check');
  if (v.copies === 'differ' || v.copies === 'missing') lines.push(`warning: trust/allowed_signers and trust/policy.yaml ${v.copies === 'differ' ? 'differ from' : 'are missing for'} the accepted version (they are copies; nodes read trust/chain/)`);
  for (const p of v.problems) lines.push(`${p.severity}: ${p.path}: ${p.reason}`);
  return lines.join('\n');
}

/** What `trust init` says of the nodes already on the bus, which never join again, and of those that join later. */
function pinAdvice(u: TrustInitResult['unpinned']): string[] {
  const later = `nodes that join later pin it as they join ("gitbus join URL ${u.command.replace(/^gitbus trust pin /, '')}")`;
  if (u.nodes.length === 0) return [`this node pinned it; ${later}`];
  return [
    `this node pinned it; ${u.nodes.join(', ')} joined before it: they run any handoff, signed or not, until it is pinned on each. On each of them, run:`,
    `  ${u.command}`,
    `(until then "gitbus status" and "gitbus doctor" name them; ${later})`,
  ];
}

/** Runs a change with the caller's key; one function for add/remove/threshold so they all read alike. */
function changeAction(opts: KeyOpts, edit: () => TrustEdit, verb: string): Promise<void> {
  return withBus(opts, async (ctx) => {
    const r = await trustChange(ctx, edit(), { key: await keyOf(opts, ctx.paths.home), ...(opts.replace ? { replace: true } : {}) });
    emit(opts, r, () => writeText(r, verb));
  });
}

function keyed(cmd: Command): Command {
  return withCommon(cmd.option('--key <file>', 'the admin key to sign with: a private key file, or a public key whose private half is in ssh-agent (default: signingKey in node.yaml, else git\'s user.signingkey)').option('--replace', 'withdraw what sits after the accepted version (a proposal, a refused version) and write this change in its place'));
}

export function register(program: Command): void {
  const trust = program
    .command('trust')
    .description('the trust root in the bus: who may sign, who may dispatch what, and what this node pinned (docs/PROTOCOL.md §12)')
    .addHelpText('after', '\nA change counts only when enough admins of the previous version signed it; nodes pin the admin keys when they join, and nodes that joined before the root with "gitbus trust pin".');

  withCommon(
    trust
      .command('init')
      .description('start the trust root: version 1 with these admins, signed with your key (one of theirs), pinned on this node')
      .requiredOption('--admin <name=pubkeyfile>', 'an admin and their SSH public key file (repeatable)', adminFlag)
      .option('--threshold <n>', 'how many admins must sign each later change (default 1)', intFlag('--threshold', 1, 100))
      .option('--key <file>', 'your key, one of the admins\' (a private key, or a public key whose private half is in ssh-agent; default: signingKey in node.yaml, else git\'s user.signingkey, else the private half of an --admin key beside its .pub file)')
      .option('--unlisted-nodes <accept|refuse>', 'what counts of files in the name of a node without a listed key (default: refuse when this is the bus\'s only node, else accept)', unlistedNodesFlag),
  ).action(async (opts: KeyOpts & { admin: AdminFlag[]; threshold?: number; unlistedNodes?: UnlistedNodes }) =>
    withBus(opts, async (ctx) => {
      const { key, beside } = await initKey(opts, ctx.paths.home, opts.admin);
      const admins = opts.admin.map(({ principal, key: k }) => ({ principal, key: k }));
      const r = await initTrustRoot(ctx, { admins, ...(opts.threshold !== undefined ? { threshold: opts.threshold } : {}), key, ...(opts.unlistedNodes ? { unlistedNodes: opts.unlistedNodes } : {}) });
      emit(opts, { ...r, signingKey: { file: key.file, source: key.source } }, () =>
        [
          writeText(r, 'wrote'),
          ...(beside ? [`signed with ${key.file}, ${key.source}, as no signing key is configured here; this node enforces the root now and refuses to dispatch unsigned: put "signingKey: ${key.file}" in ${ctx.paths.config} (or configure git's SSH signing) so that what it dispatches is signed`] : []),
          `it lists this node's key: ${r.node.node} ${r.node.fingerprint}`,
          `unlisted nodes: ${r.unlistedNodes.value} (${r.unlistedNodes.why})`,
          `settings: ${settingsText(r.settings)} (gitbus.yaml's: nodes that enforce trust use these whatever gitbus.yaml says later; change them with "gitbus trust settings")`,
          ...pinAdvice(r.unpinned),
        ].join('\n'),
      );
    }),
  );

  const add = trust.command('add').description('add a signer, an admin, a rule or a node\'s key: the next version, signed with your admin key');
  keyed(
    add
      .command('signer')
      .argument('<principal>', 'who the key belongs to (alice@example.com)')
      .argument('<pubkeyfile>', 'their SSH public key file')
      .description('allow a key to sign for a principal (a second key for one principal is how keys are rotated: add the new, then remove the old)')
      .option('--namespaces <kinds>', 'only these kinds of signatures: comma-separated (handoff, cancel, claim, response, node, trust, or full namespaces)'),
  ).action(async (principal: string, file: string, opts: KeyOpts & { namespaces?: string }) =>
    changeAction(opts, () => ({ kind: 'add-signer', principal: principalArg('PRINCIPAL', principal), key: readPublicKey(file, 'PUBKEYFILE', 'PUBKEYFILE'), ...(opts.namespaces ? { namespaces: opts.namespaces.split(',').map((s) => s.trim()).filter((s) => s !== '') } : {}) }), 'wrote'),
  );
  keyed(
    add
      .command('admin')
      .argument('<principal>', 'the new admin')
      .argument('[pubkeyfile]', 'their SSH public key file, when they have no key in allowed_signers yet')
      .description('make a principal an admin'),
  ).action(async (principal: string, file: string | undefined, opts: KeyOpts) => changeAction(opts, () => ({ kind: 'add-admin', principal: principalArg('PRINCIPAL', principal), ...(file ? { key: readPublicKey(file, 'PUBKEYFILE', 'PUBKEYFILE') } : {}) }), 'wrote'));
  keyed(
    add
      .command('rule')
      .description('let signers dispatch runners to nodes (by name or label), optionally within limits')
      .requiredOption('--signers <list>', 'principals, comma-separated, or *', listFlag('--signers', PRINCIPAL_RE))
      .requiredOption('--runners <list>', `runners (${RUNNERS.join(', ')}), comma-separated, or *`, listFlag('--runners', null, RUNNERS))
      .option('--nodes <list>', 'node names, comma-separated, or *', listFlag('--nodes', NODE_NAME_RE))
      .option('--labels <list>', 'node labels, comma-separated (a node with any of them)', listFlag('--labels', LABEL_RE))
      .option('--max-timeout <duration>', 'only handoffs with a timeout of at most this', durationFlag('--max-timeout', { positive: true }))
      .option('--max-budget-usd <n>', 'only claude handoffs with a budget of at most this', (v: string) => {
        const n = Number(v);
        if (!Number.isFinite(n) || n < 0) throw new InputError(`--max-budget-usd ${JSON.stringify(v)} is not a number ≥ 0`, 'give --max-budget-usd a number of US dollars such as 5');
        return n;
      }),
  ).action(async (opts: KeyOpts & { signers: string[]; runners: string[]; nodes?: string[]; labels?: string[]; maxTimeout?: string; maxBudgetUsd?: number }) =>
    changeAction(
      opts,
      () => ({
        kind: 'add-rule',
        rule: {
          signers: opts.signers,
          runners: opts.runners as TrustRule['runners'],
          ...(opts.nodes ? { nodes: opts.nodes } : {}),
          ...(opts.labels ? { labels: opts.labels } : {}),
          ...(opts.maxTimeout ? { maxTimeout: opts.maxTimeout } : {}),
          ...(opts.maxBudgetUsd !== undefined ? { maxBudgetUsd: opts.maxBudgetUsd } : {}),
        },
      }),
      'wrote',
    ),
  );

  const remove = trust.command('remove').description('remove a signer, an admin, a rule or a node\'s key: the next version, signed with your admin key');
  keyed(remove.command('signer').argument('<principal-or-fingerprint>', 'a principal (all its keys) or one key by its SHA256: fingerprint').description('take a key (or every key of a principal) out of allowed_signers: its signatures no longer count anywhere')).action(
    async (match: string, opts: KeyOpts) => changeAction(opts, () => ({ kind: 'remove-signer', match }), 'wrote'),
  );
  keyed(remove.command('admin').argument('<principal>', 'the admin').description('stop a principal being an admin (their key stays a signer until removed)')).action(async (principal: string, opts: KeyOpts) =>
    changeAction(opts, () => ({ kind: 'remove-admin', principal: principalArg('PRINCIPAL', principal) }), 'wrote'),
  );
  keyed(remove.command('rule').argument('<n>', 'the rule\'s number, as "gitbus trust list" shows it').description('remove a rule')).action(async (n: string, opts: KeyOpts) =>
    changeAction(opts, () => ({ kind: 'remove-rule', index: intFlag('RULE', 1, 10_000)(n) }), 'wrote'),
  );

  keyed(
    trust
      .command('max-handoff-age')
      .argument('<duration|none>', `how old a signed handoff may be when a node claims it (${DURATION_RULE}), or none for no bound`)
      .description('bound the age of the signed handoffs nodes run, so that an old one pushed back into main is refused as stale (docs/PROTOCOL.md §12, "Replay")')
      .addHelpText('after', '\nA node that enforces trust refuses a signed handoff whose created is older than this when it claims it. Schedules keep running: a template is exempt, each instance is as old as its due time.'),
  ).action(async (value: string, opts: KeyOpts) =>
    changeAction(opts, () => ({ kind: 'max-handoff-age', value: value === 'none' ? null : durationFlag('DURATION', { positive: true })(value) }), 'wrote'),
  );
  keyed(trust.command('threshold').argument('<n>', 'admin signatures each later change needs').description('change how many admins must sign a trust change')).action(async (n: string, opts: KeyOpts) =>
    changeAction(opts, () => ({ kind: 'threshold', threshold: intFlag('THRESHOLD', 1, 100)(n) }), 'wrote'),
  );

  withCommon(
    trust
      .command('sign')
      .argument('<version>', 'the proposed version')
      .description('add your admin signature to a proposed version (with a threshold above 1, each change waits for this)')
      .option('--key <file>', 'your admin key (default: signingKey in node.yaml, else git\'s user.signingkey)'),
  ).action(async (version: string, opts: KeyOpts) =>
    withBus(opts, async (ctx) => {
      const r = await trustSign(ctx, intFlag('VERSION', 1, MAX_TRUST_VERSION)(version), { key: await keyOf(opts, ctx.paths.home) });
      emit(opts, r, () => `${writeText(r, 'signed')}${r.gitbusYaml === 'rewritten' ? '; gitbus.yaml now says the settings it fixes' : ''}`);
    }),
  );

  withCommon(trust.command('list').description('the trust root this node accepts, what waits for signatures or was refused and why, and what this node pinned')).action(async (opts: CommonOptions) =>
    withBus(opts, async (ctx) => {
      const v = await trustList(ctx);
      emit(opts, v, () => listText(v));
    }),
  );

  withCommon(
    trust
      .command('pin')
      .description('pin the bus\'s trust root on this node (one that joined before the root existed): shows the admin keys to check, like a first SSH connection')
      .option('--trust <fingerprints>', 'the admin key fingerprints you checked (SHA256:..., comma-separated)', fingerprintsFlag)
      .option('--trust-root <digest>', 'pin the version with this digest (sha256:...)', digestFlag),
  ).action(async (opts: CommonOptions & { trust?: string[]; trustRoot?: string }) =>
    withBus(opts, async (ctx) => {
      const pin = await pinTrust(ctx, trustChoiceOf(opts));
      const own = await ownNodeKey(ctx).catch((err: unknown) => {
        ownKeyFailed(err);
        return null;
      });
      emit(opts, { ...pin.pinned, nodeKey: own }, () => `pinned trust version ${pin.pinned.version} (${pin.pinned.digest}); admins ${pin.pinned.admins.map((a) => `${a.principal} ${a.fingerprint}`).join(', ')}${own ? `\n${ownKeyText(own)}` : ''}`);
    }),
  );
  registerNodeKeyCommands({ trust, add, remove }, keyed);
  registerSettingsCommand(trust, keyed);
  for (const group of [trust, add, remove]) group.commands.forEach((c) => c.exitOverride());
}
