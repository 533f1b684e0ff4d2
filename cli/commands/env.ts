import type { Command } from 'commander';
import { loadNodeConfig } from '../../bus/home.js';
import { snapshotOrLast } from '../../bus/ops/query.js';
import { publishNodeCard } from '../../bus/ops/node-card-publish.js';
import { outageCode } from '../../bus/remote-failure.js';
import type { BusContext } from '../../bus/context.js';
import type { ApplyResult, ApplySkipped } from '../../bus/env/apply.js';
import { listBackups, restoreBackup } from '../../bus/env/backups.js';
import { captureProfile, DEFAULT_TARGETS, type CaptureResult } from '../../bus/env/capture.js';
import { unifiedDiff } from '../../bus/env/diff-text.js';
import { applyLooked, cardEnvOfReport, lookAtProfiles, profilesToLook, type ProfileLook, type ProfileReport } from '../../bus/env/report.js';
import { countsText, cardEnvOf, type EnvAction } from '../../bus/env/states.js';
import { EnvProfileInvalidError } from '../../bus/env/errors.js';
import { ENV_PROFILE_RE, ENV_PROFILE_RULE } from '../../schemas/env-paths.js';
import { InputError } from '../../bus/errors.js';
import { EXIT } from '../exit-codes.js';
import { offlineNote, run, withBus, withCommon, type CommonOptions } from '../common.js';
import { oneOfFlag } from '../flags.js';
import { emit, note } from '../output.js';
import { signerFor, withUnsignedFlag } from '../signing.js';
import { envUserHome } from '../user-home.js';

/**
 * `gitbus env`: every node's Claude Code and shell setup kept in step from the bus (README "Keeping every node's
 * setup in step", docs/PROTOCOL.md "env/ profiles"). The core is bus/env/; this file parses and prints.
 */

function profileArg(v: string | undefined): string | undefined {
  if (v !== undefined && !ENV_PROFILE_RE.test(v)) throw new InputError(`${JSON.stringify(v)} is not a profile name`, `use ${ENV_PROFILE_RULE}`, { profile: v });
  return v;
}

function addFlag(v: string, previous: string[] = []): string[] {
  return [...previous, v];
}

function keysFlag(v: string): string[] {
  const keys = v.split(',').map((k) => k.trim()).filter((k) => k !== '');
  if (keys.length === 0) throw new InputError('--keys is empty', 'give --keys a comma-separated list of top-level keys, such as hooks,permissions,env');
  return keys;
}

const STATE_WORD: Record<string, string> = {
  'in-sync': 'in sync',
  'changed-here': 'changed here',
  'changed-in-bus': 'changed in the bus',
  conflict: 'conflict',
  'missing-here': 'missing here',
};

/** Looks at the profiles (the one named, else the subscribed ones) on the bus as it is now, or as last seen offline. */
async function looks(ctx: BusContext, named: string | undefined, opts: { force?: boolean } = {}): Promise<ProfileLook[]> {
  // Checked before the bus is read: a home that is not there is said as such, not as every file missing here.
  const home = envUserHome();
  const { snap, offline } = await snapshotOrLast(ctx);
  offlineNote(offline);
  const node = { home: ctx.paths.home, config: ctx.config };
  return lookAtProfiles(snap, node, home, profilesToLook(node, named), { ...opts, ...(named !== undefined ? { only: named } : {}) });
}

/**
 * status and diff of a profile named on the command line that the bus does not have (exit 4) or that is invalid
 * (exit 8) fail as apply does: there is no file to report. Subscribed ones are reported, each with its problem.
 */
function refuseNamed(all: readonly ProfileLook[], named: string | undefined): void {
  if (named === undefined) return;
  const bad = all.find((l) => !l.report.found || l.refusal instanceof EnvProfileInvalidError);
  if (bad?.refusal) throw bad.refusal;
}

/**
 * A report that holds an invalid profile exits 8 (README, exit codes), after the report: a script sees that a
 * profile cannot be used. An untrusted or stale one is reported with its files and exits 0: only apply refuses it.
 */
function exitForInvalid(all: readonly ProfileLook[]): void {
  if (all.some((l) => l.refusal instanceof EnvProfileInvalidError)) process.exitCode = EXIT.invalid;
}

const ACTION_WORDS: Record<Exclude<EnvAction, 'none'>, string> = { write: 'writes it', remove: 'removes it', mode: 'sets its executable bit as the profile has it (its content is in sync)' };

const SKIP_WORD: Record<ApplySkipped['kind'], string> = { refused: 'refused', 'not-for-this-node': 'not for this node', unchanged: 'unchanged' };

function reportText(r: ProfileReport): string {
  const how = r.apply === null ? 'not subscribed here' : `apply: ${r.apply}`;
  if (r.problem !== null) return `profile ${r.profile} (${how}): ${r.problem}${r.fix ? `\n  fix: ${r.fix}` : ''}`;
  const card = cardEnvOf(r.profile, undefined, r.files);
  const lines = [`profile ${r.profile} (${how}${r.trust?.trusted ? `, signed by ${r.trust.principals.join(', ')}` : ''}): ${countsText(card.counts)}`];
  for (const f of r.files) {
    if (f.state === 'in-sync' && f.action === 'none' && f.held === undefined) continue;
    const what = f.source === null ? `${STATE_WORD[f.state] ?? f.state} (removed from the profile)` : STATE_WORD[f.state] ?? f.state;
    lines.push(`  ${what.padEnd(18)} ${f.target}${f.action !== 'none' ? `  -> apply ${ACTION_WORDS[f.action]}` : ''}${f.held ? `\n  ${' '.repeat(18)} ${f.held}` : ''}`);
  }
  for (const s of r.skipped) lines.push(`  ${'skipped'.padEnd(18)} ${s.target} (${SKIP_WORD[s.kind]}): ${s.reason}`);
  for (const w of r.warnings) lines.push(`  warning: ${w.path}${w.field ? ` (${w.field})` : ''}: ${w.reason}`);
  return lines.join('\n');
}

function applyText(r: ApplyResult): string {
  const verb = r.dryRun ? 'would write' : 'wrote';
  const n = r.written.length + r.removed.length + r.modes.length;
  const lines = [`profile ${r.profile}: ${n ? `${r.dryRun ? 'would change' : 'changed'} ${n} file(s)` : 'nothing to change'}`];
  for (const t of r.written) lines.push(`  ${verb.padEnd(12)} ${t}`);
  for (const m of r.modes) lines.push(`  ${(r.dryRun ? 'would chmod' : 'chmod').padEnd(12)} ${m.target} (${m.executable ? 'made executable' : 'made not executable'}, as the profile has it)`);
  for (const t of r.removed) lines.push(`  ${(r.dryRun ? 'would remove' : 'removed').padEnd(12)} ${t}`);
  for (const n of r.narrowed) lines.push(`  ${'mode'.padEnd(12)} ${n.target}: written ${n.applied}, not ${n.mode} as it was here (a setuid, setgid or sticky bit is never kept for the profile's content)`);
  for (const t of r.leftovers) lines.push(`  ${(r.dryRun ? 'would remove' : 'removed').padEnd(12)} ${t} (a temp file a killed apply or restore left)`);
  for (const h of r.held) lines.push(`  ${'left'.padEnd(12)} ${h.target} (${STATE_WORD[h.state] ?? h.state}): ${h.why}`);
  for (const s of r.skipped) lines.push(`  ${(s.kind === 'unchanged' ? 'unchanged' : 'skipped').padEnd(12)} ${s.target}${s.kind === 'unchanged' ? '' : ` (${SKIP_WORD[s.kind]})`}: ${s.reason}`);
  if (r.backup) lines.push(`  backup ${r.backup} holds what was replaced: "gitbus env restore ${r.backup}" puts it back`);
  return lines.join('\n');
}

/** A key of a settings file as the user reads it: as it is, or JSON-quoted when it holds more than a plain name. */
const keyWord = (k: string) => (/^[A-Za-z0-9_.-]+$/.test(k) ? k : JSON.stringify(k));

function captureText(r: CaptureResult): string {
  const changed = r.files.filter((f) => f.changed);
  const lines = [`profile ${r.profile}: ${r.commit ? `captured ${r.files.length} file(s), ${changed.length} changed, commit ${r.commit.slice(0, 12)}${r.signed ? ', manifest signed' : ''}` : `captured ${r.files.length} file(s); the bus already has them`}`];
  for (const f of r.files) lines.push(`  ${(f.changed ? 'changed' : 'same').padEnd(8)} ${f.target}${f.executable !== undefined ? ` (only its mode: ${f.executable ? 'now executable' : 'no longer executable'})` : ''}`);
  for (const t of r.removed) lines.push(`  ${'removed'.padEnd(8)} ${t}: deleted here since the last sync`);
  // A rollback: the bus's copy is of an older profile, which apply refuses; only a capture with --rebuild ends it.
  if (r.stale !== undefined) lines.push(`  stale: ${r.stale}; "gitbus env capture ${r.profile} --rebuild" signs a newer profile of this node's own files`);
  for (const t of r.newer) lines.push(r.stale !== undefined ? `  ${'older'.padEnd(8)} ${t}: the bus has the older profile's copy; left as it is` : `  ${'newer'.padEnd(8)} ${t}: the bus has a newer one and this node did not change it; left as the bus has it ("gitbus env apply" brings it here)`);
  for (const t of r.kept) lines.push(`  ${'kept'.padEnd(8)} ${t}: not on this machine, the bus keeps its copy`);
  for (const t of r.notTaken) lines.push(`  ${'not read'.padEnd(8)} ${t}: this node never captured or applied it, so its files here are not read ("--add ${t}" takes them)`);
  for (const s of r.skipped) lines.push(`  ${'skipped'.padEnd(8)} ${s.target}: ${s.reason}`);
  for (const t of r.dropped) lines.push(`  ${'dropped'.padEnd(8)} ${t}: its file was neither on the bus (intact) nor here`);
  for (const t of r.leftOut) lines.push(`  ${'left out'.padEnd(8)} ${t}: this node neither verified it nor captured or applied it (--rebuild)`);
  for (const k of r.keysLeftOut) {
    const names = k.keys.map(keyWord).join(', ');
    const how = k.command !== undefined ? `"${k.command}" adds ${k.keys.length === 1 ? 'it' : 'them'}` : k.folder !== undefined ? `a folder entry (${k.folder}) keeps the keys its first capture took: to choose them, capture ${k.target} as a file entry of its own with --keys, in a profile without the folder` : '--keys cannot name a key with a comma in it or spaces around it';
    lines.push(`  ${'keys'.padEnd(8)} ${k.target}: ${names} ${k.keys.length === 1 ? 'is' : 'are'} not in the profile, which manages only ${k.managed.length > 0 ? k.managed.map(keyWord).join(', ') : 'no key'}; ${how}`);
  }
  for (const n of r.notInDefault) lines.push(`  ${'omitted'.padEnd(8)} ${n.target}: not in the default set: ${n.why}; "${n.share}" gives every node this one, "${n.own}" keeps it for this node alone`);
  if (r.repaired) lines.push('  the profile on the bus could not be used (see "gitbus lint"); it was written over');
  return lines.join('\n');
}

/** The node card's env field after a change here: best effort, an outage is only a note (the watcher publishes too). */
async function publishDrift(ctx: BusContext): Promise<void> {
  const subs = ctx.config.env ?? [];
  if (subs.length === 0) return;
  try {
    const all = await looks(ctx, undefined);
    await publishNodeCard(ctx, { env: all.map((l) => cardEnvOfReport(l.report)) });
  } catch (err) {
    if (outageCode(err) === null) throw err;
    note('gitbus: the node card keeps its old drift until the remote is back (the watcher publishes it then)');
  }
}

export function register(program: Command): void {
  const env = program
    .command('env')
    .description("keep every node's Claude Code and shell setup in step from the bus: profiles under env/, drift by content hash")
    .addHelpText('after', '\nA profile is env/<profile>/ on the bus: files and a manifest saying where each goes (~/.claude/CLAUDE.md, ~/.claude/commands/, ~/.claude/settings.json merged by keys, ~/.zshrc, ~/.gitconfig, ...).\nNodes subscribe in node.yaml: env: [{profile: NAME, apply: auto|manual}]. Never synced: credentials, ~/.claude.json, settings.local.json, session data.');

  withCommon(
    withUnsignedFlag(
      env
        .command('capture')
        .argument('<profile>', 'the profile to write (made if the bus has none)')
        .description(`copy this machine's files into the profile on the bus; refuses what looks like a secret. A new profile without --add takes ${DEFAULT_TARGETS.join(', ')} (those this machine has; not ~/.gitconfig, which holds each machine's git identity: --add it, with --variant node to keep this node's own); an existing one takes again every entry that applies here`)
        .option('--add <path>', 'add a file or folder (~/…, or a path inside the home); repeatable', addFlag)
        .option('--variant <which>', 'put the --add entries in this node\'s variant (node) or this system\'s (os), not the default one', oneOfFlag('--variant', ['node', 'os'] as const))
        .option('--keys <list>', 'for a file merged by keys (~/.claude/settings.json): only these top-level keys, comma-separated, the whole list (a capture names the keys it leaves out, with this flag to add them); with --add, for the file it adds, else for the profile\'s one file merged by keys; refused for a file written whole', keysFlag)
        .option('--description <text>', 'what the profile is for')
        .option('--force', 'take this machine\'s files also where the bus changed them since this node last synced (refused otherwise)')
        .option('--rebuild', 'sign a profile of only what this node captured or applied itself and what --add names, leaving out what it cannot vouch for (a signed capture of such a profile is refused otherwise)'),
    ),
  ).action(async (profile: string, opts: CommonOptions & { add?: string[]; variant?: 'node' | 'os'; keys?: string[]; description?: string; unsigned?: boolean; force?: boolean; rebuild?: boolean }) =>
    withBus(opts, async (ctx) => {
      profileArg(profile);
      if (opts.variant && !opts.add?.length) throw new InputError('--variant needs --add', 'name the files that differ on this node or system with --add PATH', { flag: '--variant' });
      const r = await captureProfile(
        ctx,
        envUserHome(),
        { profile, add: opts.add ?? [], ...(opts.variant ? { variant: opts.variant } : {}), ...(opts.keys ? { keys: opts.keys } : {}), ...(opts.description !== undefined ? { description: opts.description } : {}), ...(opts.force ? { force: true } : {}), ...(opts.rebuild ? { rebuild: true } : {}) },
        await signerFor(ctx, opts),
      );
      emit(opts, r, () => captureText(r));
      await publishDrift(ctx);
    }),
  );

  withCommon(env.command('status').argument('[profile]', 'one profile (default: those node.yaml subscribes to)').description('each file of the profile on this node: in sync, changed here, changed in the bus, conflict, or missing here')).action(
    async (profile: string | undefined, opts: CommonOptions) =>
      withBus(opts, async (ctx) => {
        const all = await looks(ctx, profileArg(profile));
        refuseNamed(all, profile);
        const reports = all.map((l) => l.report);
        emit(opts, { profiles: reports }, () => reports.map(reportText).join('\n'));
        exitForInvalid(all);
      }),
  );

  withCommon(
    env
      .command('diff')
      .argument('[profile]', 'one profile (default: those node.yaml subscribes to)')
      .description('what "gitbus env apply" would change, as a unified diff per file (--- this node, +++ the profile)'),
  ).action(async (profile: string | undefined, opts: CommonOptions) =>
    withBus(opts, async (ctx) => {
      const all = await looks(ctx, profileArg(profile), { force: true });
      refuseNamed(all, profile);
      const out = all.map((l) => ({
        profile: l.report.profile,
        problem: l.report.problem,
        files: (l.plan?.files ?? [])
          .filter((f) => f.state !== 'in-sync')
          .map((f) => {
            const before = f.local.kind === 'file' ? f.local.bytes.toString('utf8') : '';
            const after = f.content ? Buffer.from(f.content).toString('utf8') : '';
            return { target: f.target, state: f.state, diff: unifiedDiff(before, after, { a: `${f.target} (this node${f.local.kind === 'missing' ? ', missing' : ''})`, b: `${f.target} (profile ${l.report.profile}${f.content ? '' : ', removed'})` }) };
          }),
      }));
      emit(opts, { profiles: out }, () =>
        out
          .map((p) => (p.problem !== null ? `profile ${p.profile}: ${p.problem}` : p.files.length === 0 ? `profile ${p.profile}: in sync` : p.files.map((f) => `# ${f.target}: ${STATE_WORD[f.state] ?? f.state}\n${f.diff}`).join('\n')))
          .join('\n'),
      );
      exitForInvalid(all);
    }),
  );

  withCommon(
    env
      .command('apply')
      .argument('[profile]', 'one profile (default: those node.yaml subscribes to)')
      .description('write the profile\'s files on this node; a file changed here is left as it is unless --force; every file replaced is backed up ("gitbus env restore"); exits 5 when files were left')
      .option('--dry-run', 'say what would be written or removed, and change nothing')
      .option('--force', 'also replace files changed here (their old content is in the backup)'),
  ).action(async (profile: string | undefined, opts: CommonOptions & { dryRun?: boolean; force?: boolean }) =>
    withBus(opts, async (ctx) => {
      const all = await looks(ctx, profileArg(profile), { force: Boolean(opts.force) });
      // Nothing is written when any profile asked for cannot be applied: no half-applied set of profiles.
      const refused = all.find((l) => l.refusal);
      if (refused?.refusal) throw refused.refusal;
      const node = { home: ctx.paths.home, config: ctx.config };
      const results = all.map((l) => applyLooked(l, node, envUserHome(), { dryRun: Boolean(opts.dryRun) }));
      emit(opts, { results }, () => results.map(applyText).join('\n'));
      if (!opts.dryRun) await publishDrift(ctx);
      if (results.some((r) => r.held.length > 0)) process.exitCode = EXIT.conflict;
    }),
  );

  withCommon(
    env
      .command('restore')
      .argument('[backup]', 'the backup to restore (default: the newest one not restored yet)')
      .description('put back the files an apply replaced or created, from its backup; refuses to clobber a file changed since (unless --force)')
      .option('--force', 'restore also files changed since the apply (what is there now is backed up first)')
      .option('--list', 'list the backups instead'),
  ).action(async (backup: string | undefined, opts: CommonOptions & { force?: boolean; list?: boolean }) =>
    run(opts, async (home) => {
      if (opts.list) {
        const all = listBackups(home);
        emit(opts, { backups: all }, () => (all.length ? all.map((b) => `${b.id}  ${b.profile}  ${b.reason}  ${b.entries.length} file(s)${b.restored ? `  restored ${b.restored}` : ''}`).join('\n') : 'no backups'));
        return;
      }
      const config = await loadNodeConfig(home);
      const r = restoreBackup(home, envUserHome(), config.node, backup, { force: Boolean(opts.force) });
      emit(opts, r, () =>
        [
          `restored backup ${r.id} (profile ${r.profile})`,
          ...r.files.map((f) => `  ${f.action.padEnd(9)} ${f.target}`),
          ...r.narrowed.map((n) => `  ${'mode'.padEnd(9)} ${n.target}: restored ${n.applied}, not ${n.mode} as the backup has it (permission bits only)`),
          ...r.leftovers.map((t) => `  ${'removed'.padEnd(9)} ${t} (a temp file a killed apply or restore left)`),
          ...r.skipped.map((s) => `  ${'skipped'.padEnd(9)} ${s.target}: ${s.reason}; left as it is`),
          ...(r.backup ? [`  what was there before is in backup ${r.backup}`] : []),
        ].join('\n'),
      );
    }),
  );
}
