import type { Command } from 'commander';
import { resolveSigningKey } from '../../bus/trust/signing-key.js';
import { parseSettingArgs, settingsText } from '../../bus/trust/trusted-settings.js';
import { trustChange, type TrustWriteResult } from '../../bus/trust/write.js';
import type { TrustSettings } from '../../schemas/trust-root.js';
import { withBus, type CommonOptions } from '../common.js';
import { emit } from '../output.js';

/**
 * `gitbus trust settings KEY=VALUE ...` (docs/PROTOCOL.md §12, "Settings that decide reclaims"): the lease, heartbeat
 * and maxAttempts nodes that enforce trust use, fixed in the next trust version and written to gitbus.yaml in the
 * same commit. Registered by trust.ts under `trust`.
 */

interface KeyOpts extends CommonOptions {
  key?: string;
  replace?: boolean;
}

/** `trust list`'s line for a version's settings. */
export function trustSettingsLine(settings: TrustSettings | null): string {
  return settings && Object.keys(settings).length > 0
    ? `settings: ${settingsText(settings)} (nodes that enforce trust use these, whatever gitbus.yaml says)`
    : 'settings: none (gitbus.yaml decides lease, heartbeat and maxAttempts, and anyone who can push can change it: "gitbus trust settings" fixes them)';
}

/** `trust list`'s line for a version's maxHandoffAge. */
export function maxHandoffAgeLine(maxHandoffAge: string | null): string {
  return maxHandoffAge !== null
    ? `max handoff age: ${maxHandoffAge} (a signed handoff older than this when a node claims it is refused as stale)`
    : 'max handoff age: none (an old signed handoff pushed back into main after its archived folders were deleted runs again on a node that never saw it: "gitbus trust max-handoff-age 30d" bounds it)';
}

function gitbusYamlText(r: TrustWriteResult): string {
  switch (r.gitbusYaml) {
    case 'rewritten':
      return '; gitbus.yaml now says the same';
    case 'agreed':
      return '; gitbus.yaml already said the same';
    case 'unreadable':
      return '; gitbus.yaml could not be read and was left as it is ("gitbus lint")';
    case 'later':
      return '; gitbus.yaml is rewritten by the signature that completes it';
    default:
      return '';
  }
}

export function registerSettingsCommand(trust: Command, keyed: (cmd: Command) => Command): void {
  keyed(
    trust
      .command('settings')
      .argument('<key=value...>', 'lease=DURATION, heartbeat=DURATION, maxAttempts=N (the same formats and rules as in gitbus.yaml)')
      .description('fix the bus settings that decide reclaims and re-runs (lease, heartbeat, maxAttempts) in the next trust version, and write them to gitbus.yaml in the same commit')
      .addHelpText('after', '\nNodes that enforce trust use these values whatever gitbus.yaml says, so that push access alone cannot make them reclaim each other\'s tasks (lease=1s). Keys not named keep their values.'),
  ).action(async (assignments: string[], opts: KeyOpts) =>
    withBus(opts, async (ctx) => {
      const settings = parseSettingArgs(assignments);
      const key = await resolveSigningKey({ ...(opts.key !== undefined ? { key: opts.key } : {}), home: ctx.paths.home });
      const r = await trustChange(ctx, { kind: 'settings', settings }, { key, ...(opts.replace ? { replace: true } : {}) });
      emit(opts, { ...r, settings }, () => {
        const version = r.status === 'accepted' ? `trust version ${r.version} (${r.digest})` : `trust version ${r.version} (${r.digest}), a proposal: it needs ${r.needed} admin signatures and waits for ${r.waitingFor.join(', ')} ("gitbus trust sign ${r.version} --key KEY")`;
        return `${r.status === 'accepted' ? 'set' : 'proposed'} ${settingsText(settings)} in ${version}${gitbusYamlText(r)}`;
      });
    }),
  );
}
