import { GitbusError } from '../schemas/errors.js';
import { shellWord } from './project/shell-word.js';

/**
 * The remote's main is no longer the history this node last saw. Both are remote failures that need a person
 * (bus/remote-failure.ts): the watcher backs off and reports them once, a command fails instead of queueing. The
 * fixes work from this node's own clone, which still holds the commit it last saw.
 */

/** main moved to a commit that does not carry the one this node last saw: a force-push rewound or replaced it. */
export class RemoteMainRewoundError extends GitbusError {
  readonly code = 'REMOTE_MAIN_REWOUND';
  constructor(remote: string, clone: string, lastSeen: string, now: string) {
    const git = `git --git-dir ${shellWord(clone)}`;
    super(
      `refs/heads/main on ${remote} is now ${now.slice(0, 12)}, which does not carry ${lastSeen.slice(0, 12)} that this node last saw: it was rewound or replaced (a force-push, or remote: in node.yaml now names another repository); this node writes and claims nothing until a person decides`,
      `if that was a mistake, put main back from this node's clone: ${git} push --force-with-lease=refs/heads/main:${now} ${shellWord(remote)} ${lastSeen}:refs/heads/main; if it was meant (tasks this node answered since may run again), accept it on this node: ${git} update-ref refs/heads/main ${now} ${lastSeen}`,
      { remote, clone, lastSeen, now },
    );
  }
}

/** main is gone from a remote where this node saw it: deleted (`git push <remote> :main`), or the repository replaced. */
export class RemoteMainGoneError extends GitbusError {
  readonly code = 'REMOTE_MAIN_GONE';
  constructor(remote: string, clone: string, lastSeen: string) {
    super(
      `${remote} has no refs/heads/main any more (this node last saw ${lastSeen.slice(0, 12)}): it was deleted, or the repository was replaced; this node writes and claims nothing until it is back`,
      `put it back from this node's clone: git --git-dir ${shellWord(clone)} push ${shellWord(remote)} ${lastSeen}:refs/heads/main (or, if the bus moved, point remote: in node.yaml at its new place)`,
      { remote, clone, lastSeen },
    );
  }
}
