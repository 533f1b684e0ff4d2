import { parseSettingsFile, renderSettings } from '../../schemas/bus-file.js';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import { SETTINGS_PATH } from '../../schemas/layout.js';
import type { TrustSettings } from '../../schemas/trust-root.js';
import { transact } from '../cas.js';
import type { BusContext } from '../context.js';
import { Snapshot } from '../model/snapshot.js';
import { MAIN } from '../repo.js';
import type { FileChange } from '../store/objects.js';
import { ALLOWED_SIGNERS_COPY, allowedSignersPath, linkPath, POLICY_COPY, policyPath } from './chain-files.js';
import { adminPrincipalsOf, verifyNext, type SignedBy, type VerifyEnv, type VersionFiles } from './chain.js';
import { applyEdit, firstVersion, renderVersion, type FirstVersionNodes, type PublicKey, type TrustEdit } from './change.js';
import { acceptedOf, advancePin, loadPin, newPin, savePin } from './pin.js';
import { recordOwnFiles } from './sign-own-files.js';
import { evaluateTrust, readChain, type ChainOnBus } from './root.js';
import {
  NotTrustAdminError,
  NoTrustRootError,
  TrustNothingToSignError,
  TrustNotPinnedError,
  TrustRootExistsError,
  TrustChangeInvalidError,
  TrustRootRefusedError,
  TrustVersionTakenError,
} from './root-errors.js';
import type { Sidecar } from './file-signatures.js';
import { signBusFile } from './sign.js';
import type { SigningKey } from './signing-key.js';
import { busAgrees, checkTrustedSettings, sameTrustSettings, settingsText, withTrustedSettings } from './trusted-settings.js';
import { parseVersion, type TrustVersion } from './version-content.js';

/**
 * Writing the trust root: `gitbus trust init`, a change (add/remove, threshold) and `trust sign`. Each is one
 * commit through the compare-and-swap; every file is new (a version's three files, a signature), except the two
 * copies at trust/'s top, rewritten when a version becomes complete. Signing (ssh-keygen) happens before the
 * transaction, over bytes that do not depend on anything the transaction may see change: if the chain moved
 * meanwhile, the transaction refuses and the command is run again.
 */

export interface TrustWriteResult {
  version: number;
  digest: string;
  /** `accepted`: enough admins signed; `pending`: waiting for more (`gitbus trust sign VERSION`). */
  status: 'accepted' | 'pending';
  needed: number;
  signedBy: SignedBy[];
  waitingFor: string[];
  commit: string | null;
  /**
   * Set when the version changes the bus settings it fixes (docs/PROTOCOL.md §12, "Settings that decide reclaims"):
   * `rewritten`: this commit made gitbus.yaml say the same; `agreed`: it already did; `unreadable`: gitbus.yaml could
   * not be read, so it was left as it is; `later`: a proposal, rewritten by the signature that completes it.
   */
  gitbusYaml?: 'rewritten' | 'agreed' | 'unreadable' | 'later';
}

function envOf(ctx: BusContext, now: Date): VerifyEnv {
  return { node: ctx.config.trust ?? {}, now };
}

async function currentSnapshot(ctx: BusContext): Promise<Snapshot> {
  return Snapshot.read(ctx.repo.store, await ctx.repo.sync(MAIN));
}

function versionFiles(r: ReturnType<typeof renderVersion>, signature: Sidecar[]): VersionFiles {
  return { version: r.version.version, link: Buffer.from(r.link), allowedSigners: Buffer.from(r.allowedSigners), policy: Buffer.from(r.policy), signatures: signature };
}

/** The files of one version, its signature, and the copies when the version is complete. */
function versionChanges(r: ReturnType<typeof renderVersion>, signature: Sidecar, complete: boolean): FileChange[] {
  const n = r.version.version;
  const changes: FileChange[] = [
    { path: allowedSignersPath(n), content: r.allowedSigners },
    { path: policyPath(n), content: r.policy },
    { path: linkPath(n), content: r.link },
    { path: signature.path, content: signature.content },
  ];
  if (complete) changes.push(...copyChanges(r.version));
  return changes;
}

function copyChanges(v: TrustVersion): FileChange[] {
  return [
    { path: ALLOWED_SIGNERS_COPY, content: v.allowedSigners },
    { path: POLICY_COPY, content: v.policyText },
  ];
}

/**
 * gitbus.yaml made to say what `trust` fixes, keeping its other keys, so that nodes that do not enforce trust use
 * the same values: the change, or why there is none.
 */
async function gitbusYamlChange(snap: Snapshot, trust: TrustSettings): Promise<{ change: FileChange | null; state: 'rewritten' | 'agreed' | 'unreadable' }> {
  const ref = snap.index.settings;
  // One over the bus file limit is not read, as a snapshot does not: unreadable, so nothing of it is kept.
  const bytes = ref ? await snap.store.readBlobUpTo(ref.oid, MAX_FILE_BYTES) : undefined;
  const parsed = bytes === undefined || typeof bytes === 'number' ? undefined : parseSettingsFile(bytes);
  if (!parsed?.ok) return { change: null, state: 'unreadable' };
  if (busAgrees(parsed.settings, trust)) return { change: null, state: 'agreed' };
  return { change: { path: SETTINGS_PATH, content: renderSettings(withTrustedSettings(parsed.file.data, trust), parsed.file.extras) }, state: 'rewritten' };
}

function resultOf(step: ReturnType<typeof verifyNext>['step'], commit: string | null): TrustWriteResult {
  if (step.status === 'accepted') return { version: step.version, digest: step.digest, status: 'accepted', needed: 0, signedBy: step.signedBy, waitingFor: [], commit };
  if (step.status === 'pending') return { version: step.version, digest: step.digest, status: 'pending', needed: step.needed, signedBy: step.signedBy, waitingFor: step.waitingFor, commit };
  // Our own signature was checked to count before anything was written; reaching this is a bug.
  throw new Error(`trust version ${step.version} written but refused: ${step.reason}`);
}

async function signLink(key: SigningKey, version: number, link: Uint8Array): Promise<Sidecar> {
  const signed = await signBusFile(linkPath(version), link, key);
  return { path: signed.sidecar, content: Buffer.from(signed.armored, 'utf8') };
}

export interface InitOptions {
  admins: { principal: string; key: PublicKey }[];
  threshold?: number;
  /** The key that signs version 1: one of the admins'. */
  key: SigningKey;
  /** Nodes listed from the start (the node running init) and the policy for the others (docs/PROTOCOL.md §12, "Node keys"). */
  nodes?: FirstVersionNodes;
  /** The bus settings version 1 fixes (gitbus.yaml's when the root is made). */
  settings?: TrustSettings;
  now?: Date;
}

/** Version 1, signed by the admin running it, pinned on this node (it made the root, so it trusts it). */
export async function trustInit(ctx: BusContext, opts: InitOptions): Promise<TrustWriteResult> {
  const now = opts.now ?? new Date();
  const rendered = renderVersion(firstVersion(opts.admins, opts.threshold, opts.nodes, opts.settings), undefined);
  const key = opts.key.parsed.key;
  if (adminPrincipalsOf(rendered.version, key, { node: {}, now }).length === 0) throw new NotTrustAdminError(key.fingerprint, 1, rendered.version.policy.admins);
  const signature = await signLink(opts.key, 1, Buffer.from(rendered.link, 'utf8'));
  const { step } = verifyNext(null, versionFiles(rendered, [signature]), { node: {}, now });
  const r = await transact(ctx, 'trust init', async (snap) => {
    const chain = await readChain(snap);
    if (chain.present) throw new TrustRootExistsError(chain.newest);
    return { result: {}, commit: { changes: versionChanges(rendered, signature, step.status === 'accepted'), message: `gitbus: trust init, version 1 (admins ${rendered.version.policy.admins.join(', ')})` } };
  });
  await recordOwnFiles(ctx, r.commit, now);
  savePin(ctx.paths.home, newPin(rendered.version, 'init', now));
  return resultOf(step, r.commit);
}

export interface ChangeOptions {
  key: SigningKey;
  /** Withdraw what sits after the accepted version (a proposal, a refused or skipped version) and write this instead. */
  replace?: boolean;
  now?: Date;
}

/** The accepted version this node stands on, and the chain as read; refuses without a root or a pin. */
async function standing(ctx: BusContext, snap: Snapshot, now: Date): Promise<{ chain: ChainOnBus; accepted: TrustVersion; report: ReturnType<typeof evaluateTrust> }> {
  const chain = await readChain(snap);
  if (!chain.present) throw new NoTrustRootError();
  const pin = loadPin(ctx.paths.home);
  if (!pin) throw new TrustNotPinnedError();
  const report = evaluateTrust(chain, pin, acceptedOf(pin, ctx.paths.home), envOf(ctx, now));
  if (!report.accepted) throw new TrustNotPinnedError();
  // A fork at or below the version this node stands on: a change on top of it would fork the chain further.
  if (report.stop?.status === 'refused' && report.stop.version <= report.accepted.version) throw new TrustRootRefusedError(report.stop.reason, report.stop.fix);
  return { chain, accepted: report.accepted, report };
}

/** Removes every version after `accepted` from the tree: files and their signatures (a withdrawn proposal). */
function withdrawAfter(chain: ChainOnBus, accepted: number): FileChange[] {
  const out: FileChange[] = [];
  for (const [n, v] of chain.versions) {
    if (n <= accepted) continue;
    out.push({ path: linkPath(n), content: null }, { path: allowedSignersPath(n), content: null }, { path: policyPath(n), content: null });
    for (const s of v.signatures) out.push({ path: s.path, content: null });
  }
  return out;
}

/** The next version: `edit` applied to the version this node accepted, signed with an admin's key. */
export async function trustChange(ctx: BusContext, edit: TrustEdit, opts: ChangeOptions): Promise<TrustWriteResult> {
  const now = opts.now ?? new Date();
  const env = envOf(ctx, now);
  const before = await currentSnapshot(ctx);
  const seen = await standing(ctx, before, now);
  const n = seen.accepted.version + 1;
  if (seen.chain.newest >= n && !opts.replace) {
    const stop = seen.report.stop;
    const state = stop?.status === 'pending' ? `a proposal with ${stop.counted} of ${stop.needed} admins' signatures` : stop?.status === 'refused' ? `not accepted: ${stop.reason}` : 'on the bus';
    throw new TrustVersionTakenError(n, state, stop?.status === 'pending' ? `sign it with "gitbus trust sign ${n} --key KEY", or withdraw it and write this change instead with --replace` : `write this change in its place with --replace (it removes versions after ${seen.accepted.version})`);
  }
  const key = opts.key.parsed.key;
  if (adminPrincipalsOf(seen.accepted, key, env).length === 0) throw new NotTrustAdminError(key.fingerprint, seen.accepted.version, seen.accepted.policy.admins);
  const rendered = renderVersion(applyEdit(seen.accepted, edit), seen.accepted.digest, seen.accepted);
  const settings = rendered.version.policy.settings;
  const settingsMoved = settings !== undefined && !sameTrustSettings(seen.accepted.policy.settings, settings);
  // gitbus.yaml is rewritten to match, so it must be readable and read well afterwards: checked before signing.
  if (edit.kind === 'settings' && settings) checkSettingsFile(before, settings);
  const signature = await signLink(opts.key, n, Buffer.from(rendered.link, 'utf8'));
  const { step } = verifyNext(seen.accepted, versionFiles(rendered, [signature]), env);
  let gitbusYaml: TrustWriteResult['gitbusYaml'];
  const r = await transact(ctx, 'trust change', async (snap) => {
    const latest = await standing(ctx, snap, now);
    if (latest.accepted.digest !== seen.accepted.digest || latest.chain.newest !== seen.chain.newest) {
      throw new TrustVersionTakenError(n, 'the trust root changed while this change was being signed', 'look with "gitbus trust list" and run the command again');
    }
    const changes = [...(opts.replace ? withdrawAfter(latest.chain, seen.accepted.version) : []), ...versionChanges(rendered, signature, step.status === 'accepted')];
    gitbusYaml = undefined;
    if (settingsMoved && settings) {
      if (step.status !== 'accepted') gitbusYaml = 'later';
      else {
        if (edit.kind === 'settings') checkSettingsFile(snap, settings);
        const y = await gitbusYamlChange(snap, settings);
        if (y.change) changes.push(y.change);
        gitbusYaml = y.state;
      }
    }
    return { result: {}, commit: { changes, message: `gitbus: trust version ${n} (${describeEdit(edit)})${step.status === 'pending' ? ', proposed' : ''}` } };
  });
  if (step.status === 'accepted') advancePin(ctx.paths.home, rendered.version, now);
  return { ...resultOf(step, r.commit), ...(gitbusYaml ? { gitbusYaml } : {}) };
}

/** Refuses settings gitbus.yaml cannot be made to say: it cannot be read, or would read badly (trusted-settings.ts). */
function checkSettingsFile(snap: Snapshot, settings: TrustSettings): void {
  if (!snap.settingsFile) {
    throw new TrustChangeInvalidError('gitbus.yaml cannot be read, so it cannot be made to say the same as the trust version', 'fix gitbus.yaml first ("gitbus lint" says what is wrong), then run this again');
  }
  checkTrustedSettings(snap.settingsFile, settings);
}

function describeEdit(edit: TrustEdit): string {
  switch (edit.kind) {
    case 'add-signer':
      return `add signer ${edit.principal}`;
    case 'remove-signer':
      return `remove signer ${edit.match}`;
    case 'add-admin':
      return `add admin ${edit.principal}`;
    case 'remove-admin':
      return `remove admin ${edit.principal}`;
    case 'add-rule':
      return 'add a rule';
    case 'remove-rule':
      return `remove rule ${edit.index}`;
    case 'threshold':
      return `threshold ${edit.threshold}`;
    case 'add-node':
      return `add node ${edit.node} ${edit.key.fingerprint}`;
    case 'remove-node':
      return `remove node ${edit.node}`;
    case 'unlisted-nodes':
      return `unlisted nodes ${edit.value}`;
    case 'settings':
      return `settings ${settingsText(edit.settings)}`;
    case 'max-handoff-age':
      return `max handoff age ${edit.value ?? 'none'}`;
  }
}

/**
 * Adds this admin's signature to version `version`, the one after this node's accepted version (or version 1
 * while the root itself still waits for its admins). The version's copies are written once it is complete.
 */
export async function trustSign(ctx: BusContext, version: number, opts: { key: SigningKey; now?: Date }): Promise<TrustWriteResult> {
  const now = opts.now ?? new Date();
  const env = envOf(ctx, now);
  const key = opts.key.parsed.key;
  const judge = async (snap: Snapshot) => {
    const chain = await readChain(snap);
    if (!chain.present) throw new NoTrustRootError();
    const files = chain.versions.get(version);
    if (!files?.link) throw new TrustNothingToSignError(version, 'there is no such version on the bus', 'see the versions with "gitbus trust list"');
    let prev: TrustVersion | null;
    if (version === 1) prev = null;
    else {
      const pin = loadPin(ctx.paths.home);
      if (!pin) throw new TrustNotPinnedError();
      const report = evaluateTrust(chain, pin, acceptedOf(pin, ctx.paths.home), env);
      prev = report.accepted;
      if (!prev || prev.version !== version - 1) {
        const why = prev && prev.version >= version ? 'it is already accepted' : `this node accepts version ${prev?.version ?? 0}, and version ${version} does not follow it`;
        throw new TrustNothingToSignError(version, why, 'see what waits for signatures with "gitbus trust list"');
      }
    }
    const { step } = verifyNext(prev, files, env);
    if (step.status === 'accepted') throw new TrustNothingToSignError(version, 'it already has the signatures it needs', 'nothing to do');
    if (step.status === 'refused' && !step.unsigned) throw new TrustNothingToSignError(version, `it cannot be accepted whoever signs it: ${step.reason}`, step.fix);
    if (step.status === 'pending' && step.signedBy.some((s) => s.fingerprint === key.fingerprint)) throw new TrustNothingToSignError(version, `the key ${key.fingerprint} has signed it already`, 'another admin signs it');
    return { files, prev, step };
  };
  const before = await judge(await currentSnapshot(ctx));
  const signer = before.prev ?? parsedOwnVersion(before.files);
  if (adminPrincipalsOf(signer, key, env).length === 0) throw new NotTrustAdminError(key.fingerprint, signer.version, signer.policy.admins);
  const link = Buffer.from(before.files.link ?? new Uint8Array());
  const signature = await signLink(opts.key, version, link);
  let after: ReturnType<typeof verifyNext> | undefined;
  let gitbusYaml: TrustWriteResult['gitbusYaml'];
  const r = await transact(ctx, 'trust sign', async (snap) => {
    const now2 = await judge(snap);
    if (!Buffer.from(now2.files.link ?? new Uint8Array()).equals(link)) throw new TrustNothingToSignError(version, 'its link changed while it was being signed', 'run the command again');
    after = verifyNext(now2.prev, { ...now2.files, signatures: [...now2.files.signatures, signature] }, env);
    const complete = after.step.status === 'accepted' && after.next ? copyChanges(after.next) : [];
    // The signature that makes a version count also makes gitbus.yaml say what it fixes, when that changed.
    const settings = after.step.status === 'accepted' ? after.next?.policy.settings : undefined;
    gitbusYaml = undefined;
    if (settings && !sameTrustSettings(now2.prev?.policy.settings, settings)) {
      const y = await gitbusYamlChange(snap, settings);
      if (y.change) complete.push(y.change);
      gitbusYaml = y.state;
    }
    return { result: {}, commit: { changes: [{ path: signature.path, content: signature.content }, ...complete], message: `gitbus: trust version ${version} signed by ${key.fingerprint}${complete.length ? ', complete' : ''}` } };
  });
  const done = after ?? verifyNext(before.prev, { ...before.files, signatures: [...before.files.signatures, signature] }, env);
  if (done.next && version > 1) advancePin(ctx.paths.home, done.next, now);
  return { ...resultOf(done.step, r.commit), ...(gitbusYaml ? { gitbusYaml } : {}) };
}

/** Version 1 read from its own files: its own admins sign it. */
function parsedOwnVersion(files: VersionFiles): TrustVersion {
  const r = files.allowedSigners && files.policy ? parseVersion(1, files.allowedSigners, files.policy) : undefined;
  if (!r?.ok) throw new TrustNothingToSignError(1, 'its files do not form a valid trust root', 'see "gitbus trust list"');
  return r.value;
}
