import { GitbusError } from '../schemas/errors.js';
import { shellWord } from './project/shell-word.js';

/**
 * The remote's main is no longer the history this node last saw. These are remote failures that need a person
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

