import type { CardEnv } from '../schemas/env-drift.js';
import type { BusContext } from '../bus/context.js';
import type { Snapshot } from '../bus/model/snapshot.js';
import { publishNodeCard } from '../bus/ops/node-card-publish.js';
import { envTreeOid } from '../bus/env/profile.js';
import { applyLooked, cardEnvOfReport, lookAtProfiles } from '../bus/env/report.js';
import { cardEnvOf } from '../bus/env/states.js';
import { firstLine, GitbusError } from '../schemas/errors.js';
import type { WatchEvent } from './watch-events.js';

/**
 * The watcher's part in environment sync (README "Keeping every node's setup in step"): at a wake where env/
 * changed on the bus (its tree oid differs from the last wake's: one comparison), or at most every
 * `everyMs` to see local edits, it looks at each profile node.yaml subscribes to, applies the `auto` ones (never
 * with --force: a file changed here is reported, not replaced) and publishes the drift on the node card.
 */

export interface EnvWatch {
  /** Called at every wake with the state the wake read. */
  wake(snap: Snapshot): Promise<void>;
}

/** How often at most local files are looked at again when the bus's env/ did not change. */
export const ENV_LOOK_MS = 60_000;

/**
 * `findHome` gives the user's home folder at each look, or throws why there is none (ENV_HOME_MISSING: HOME names a
 * path that is not there): then nothing is looked at or applied, the reason is reported once (again only after the
 * home was back) and the node card says it for each profile; the watcher's other work goes on.
 */
export function envWatch(ctx: BusContext, findHome: () => string, onEvent: (e: WatchEvent) => void, everyMs = ENV_LOOK_MS): EnvWatch {
  let lastTree: string | null | undefined;
  /** The home problem last reported, so that it is said once rather than at every look. */
  let homeProblem: string | undefined;
  let lastLook = 0;
  /** What was last reported per profile, so a held file or a refusal is reported once, not every wake. */
  const reported = new Map<string, string>();
  const node = { home: ctx.paths.home, config: ctx.config };
  const once = (profile: string, key: string, e: WatchEvent) => {
    if (reported.get(profile) === key) return;
    reported.set(profile, key);
    if (key !== '') onEvent(e);
  };
  let cleared = false;
  return {
    async wake(snap) {
      const subs = ctx.config.env ?? [];
      if (subs.length === 0) {
        // A node that no longer subscribes takes the drift of its old profiles off its card, once.
        if (!cleared) await publishNodeCard(ctx, { env: [], peek: snap, fromWatcher: true });
        cleared = true;
        return;
      }
      const tree = await envTreeOid(snap);
      const now = Date.now();
      if (tree === lastTree && now - lastLook < everyMs) return;
      lastTree = tree;
      lastLook = now;
      const seen = new Set<string>();
      const wanted = subs.filter((s) => !seen.has(s.profile) && seen.add(s.profile)).map((s) => ({ profile: s.profile, apply: s.apply }));
      let userHome: string;
      try {
        userHome = findHome();
      } catch (err) {
        if (!(err instanceof GitbusError)) throw err;
        const reason = firstLine(err);
        if (homeProblem !== reason) onEvent({ type: 'env-home-missing', code: err.code, profiles: wanted.map((w) => w.profile), reason, fix: err.fix });
        homeProblem = reason;
        // Other nodes see why this one's files are not kept in step (gitbus status, their doctor).
        await publishNodeCard(ctx, { env: wanted.map((w) => cardEnvOf(w.profile, w.apply, [], `no home folder: ${reason}`)), peek: snap, fromWatcher: true });
        return;
      }
      homeProblem = undefined;
      let looks = await lookAtProfiles(snap, node, userHome, wanted);
      let changedAny = false;
      for (const look of looks) {
        const profile = look.report.profile;
        if (look.refusal) {
          once(profile, `refused ${look.report.problem ?? ''}`, { type: 'env-refused', profile, reason: look.report.problem ?? look.refusal.message, fix: look.report.fix ?? '' });
        } else if (look.report.apply === 'auto') {
          // Also when nothing is to be written: state.json then learns the files that are in sync already. One
          // profile failing is reported, and the others are still applied.
          try {
            const r = applyLooked(look, node, userHome);
            const changed = r.written.length + r.removed.length + r.modes.length > 0;
            if (changed || r.leftovers.length > 0) onEvent({ type: 'env-applied', profile, written: r.written, removed: r.removed, modes: r.modes, narrowed: r.narrowed, leftovers: r.leftovers, backup: r.backup });
            once(profile, r.held.length ? `held ${r.held.map((h) => `${h.target}:${h.state}`).join(',')}` : '', { type: 'env-held', profile, files: r.held });
            changedAny ||= changed;
          } catch (err) {
            const reason = `it could not be applied: ${firstLine(err)}`;
            once(profile, `refused ${reason}`, { type: 'env-refused', profile, reason, fix: err instanceof GitbusError ? err.fix : `run "gitbus env apply ${profile}" to see why` });
          }
        } else reported.delete(profile);
      }
      if (changedAny) looks = await lookAtProfiles(snap, node, userHome, wanted);
      const cards: CardEnv[] = looks.map((l) => cardEnvOfReport(l.report));
      await publishNodeCard(ctx, { env: cards, peek: snap, fromWatcher: true });
    },
  };
}
