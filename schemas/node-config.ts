import { z } from './zod.js';
import { labelSchema, nodeNameSchema, runnerSchema } from './fields.js';
import { positiveDurationSchema } from './duration-schema.js';
import { withRule } from './rule.js';
import { nodeTrustSchema } from './trust-root.js';
import { ENV_PROFILE_RE } from './env-paths.js';
import { BYTE_SIZE_RULE, byteSizeViolation, MIN_LOG_SIZE } from './byte-size.js';

// node.yaml, a node's own settings (bus/home.ts reads and writes it): not a bus file, but a file people edit by hand,
// checked and reported as bus files are. Here, with the other schemas, so that a command whose node.yaml parse is
// kept (bus/node-config-cache.ts) never loads zod (cli/schemas-script.ts).

// Described, as every hand-written field is: a problem says "expected <description>" and "use <description>".
const ROOT_NAME = z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]{0,39}$/)).register(z.globalRegistry, {
  description: 'a root name: 1–40 characters of lower-case letters a–z, digits, "-" and "_", starting with a letter or digit',
});
const ROOT_PATH = z.string().check(z.minLength(1)).register(z.globalRegistry, { description: 'a folder path: absolute, "~/…", or relative to the home' });

/** A regular expression of `policy.commands`: it must compile, or the node would refuse (or allow) by accident. */
const regexSource = withRule(z.string().check(z.minLength(1), z.maxLength(1000)), (source) => {
  try {
    new RegExp(source);
    return undefined;
  } catch (err) {
    return { reason: `not a regular expression: ${(err as Error).message}`, fix: 'write a JavaScript regular expression, such as "make( [a-z-]+)*"' };
  }
});

/**
 * `policy:`, what this machine accepts at most, whatever the bus asks (bus/model/node-policy.ts judges a task
 * by it; README "Node policy"). Every field is optional; one that is left out does not limit.
 */
export const nodePolicySchema = z.strictObject({
  /** Runners tasks may use, on top of `runners` (a task for another is refused). `manual` tasks run nothing and are never refused. */
  runners: z.optional(z.array(runnerSchema)),
  /** Principals (globs, `*@example.com`) or key fingerprints (`SHA256:…`) whose signature a task needs: a task with no verified signer is refused. */
  signers: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(500))).check(z.maxLength(100))),
  /** Project repositories tasks may name: globs over the URL or the node.yaml project name (`*` stays within a `/` part, `**` does not). */
  repos: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(1000))).check(z.maxLength(100))),
  /** Named work roots (`workRoots`) a workdir may use; the default work root is always allowed. */
  workRoots: z.optional(z.array(ROOT_NAME).check(z.maxLength(100))),
  /** shell, tmux and icecc commands: each must match one `allow` pattern whole (anchored) and contain no `deny` match. */
  commands: z.optional(z.strictObject({ allow: z.optional(z.array(regexSource).check(z.maxLength(100))), deny: z.optional(z.array(regexSource).check(z.maxLength(100))) })),
  /** The longest timeout a task may ask for; a task without one gets this one. */
  maxTimeout: z.optional(positiveDurationSchema),
  /** The largest budget a claude task may ask for, in US dollars; a claude task without one gets this one. */
  maxBudgetUsd: z.optional(z.number().check(z.minimum(0))),
});

/**
 * `maxLogSize`: a size of at least MIN_LOG_SIZE (a whole number of bytes, or text with a unit). Any value reaches the
 * rule, so that `true` or `64MB` is told what is wrong with it rather than which types a union takes.
 */
const logSizeSchema = withRule(z.custom<number | string>(() => true), (value) => byteSizeViolation(value, MIN_LOG_SIZE)).register(z.globalRegistry, { description: `${BYTE_SIZE_RULE}; at least 64KiB` });

export const nodeConfigSchema = z.strictObject({
  node: nodeNameSchema,
  remote: z.string().check(z.minLength(1)),
  labels: z._default(z.array(labelSchema), []),
  /** Runners the watcher may use. Empty by default: running commands from a shared repo is opted into. */
  runners: z._default(z.array(runnerSchema), []),
  /** How many tasks the watcher runs at once. */
  parallel: z._default(z.int().check(z.minimum(1), z.maximum(1000)).register(z.globalRegistry, { description: 'a whole number from 1 to 1000' }), 1),
  /**
   * How much of a task's output its log on this node keeps (watcher/runners/log-cap.ts): the start up to this,
   * then a line saying how many bytes were dropped, then the output's end. Default DEFAULT_LOG_SIZE (64MiB).
   */
  maxLogSize: z.optional(logSizeSchema),
  /** Where tasks run; a handoff's workdir is relative to it. Default: <home>/work. */
  workRoot: z.optional(z.string().check(z.minLength(1))),
  /**
   * More roots, by name: a handoff whose workdir starts with a name (`src/gitbus`) runs under that root
   * (`~/src/gitbus`). Paths are absolute, `~/…`, or relative to the home. They must exist; gitbus never makes them.
   */
  workRoots: z.optional(z.record(ROOT_NAME, ROOT_PATH)),
  /** The claude runner: what this node grants; a handoff may ask for less, never more. */
  claude: z.optional(z.strictObject({
    binary: z.optional(z.string().check(z.minLength(1))),
    model: z.optional(z.string().check(z.minLength(1))),
    permissionMode: z.optional(z.string().check(z.minLength(1))),
    allowedTools: z.optional(z.array(z.string().check(z.minLength(1)))),
    /** Per-task budget cap in US dollars (`--max-budget-usd`), as the seed fleet's dollar caps. */
    maxBudgetUsd: z.optional(z.number().check(z.minimum(0))),
    /** Per-task cap on agentic turns (`--max-turns`); a handoff may ask for fewer. */
    maxTurns: z.optional(z.int().check(z.minimum(1))),
    /**
     * What this node's claude runs may spend per UTC day, in US dollars (seed 002's per-machine caps): a claude
     * task is not taken once the day's runs have spent it, and each run's budget is at most what is left.
     */
    maxSpendUsdPerDay: z.optional(z.number().check(z.minimum(0))),
  })),
  /**
   * Project repositories this node works on, by short name (docs/PROTOCOL.md §3a): a handoff's `repo` may give the
   * name instead of the URL, and whichever it gives, the entry whose name or URL matches says how to prepare the
   * task's worktree.
   */
  projects: z.optional(z.record(
    z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'a project name: lower-case letters, digits, ".", "-" and "_"')),
    z.strictObject({
      /** The project's remote as this node reaches it. */
      url: z.string().check(z.minLength(1)),
      /** A checkout of the project on this node that `include` copies from (absolute, `~/…`, or relative to the home). */
      checkout: z.optional(z.string().check(z.minLength(1))),
      /** Files git ignores that a task needs (`.env`, `config/*.local`): globs copied from `checkout` into each worktree. */
      include: z.optional(z.array(z.string().check(z.minLength(1)))),
      /** A command run in each new worktree before the task (`npm ci`, `uv sync`). */
      setup: z.optional(z.string().check(z.minLength(1))),
      /** Environment for the task; `{slot}`, `{N+slot}` (the run's slot on this node), `{id}`, `{workstream}`, `{group}` and `{branch}` are filled in. */
      env: z.optional(z.record(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')), z.string())),
      /** Commit what a run left uncommitted before pushing the branch (default true; a handoff's autoCommit wins). */
      autoCommit: z.optional(z.boolean()),
    }),
  )),
  /**
   * Accept project tasks only for the projects listed above (by name or URL): a handoff from the bus cannot make
   * this node fetch from, and push to, any other repository its SSH keys or credentials reach.
   */
  projectsOnly: z.optional(z.boolean()),
  /**
   * The SSH key that signs what this person or node writes (docs/PROTOCOL.md §11): a private key, or a public key
   * whose private half is in ssh-agent (absolute, `~/…`, or relative to the home). Unset: git's user.signingkey
   * when gpg.format is ssh.
   */
  signingKey: z.optional(z.string().check(z.minLength(1))),
  /** Trust (docs/PROTOCOL.md §12): keys and principals this node refuses whatever the bus says, a higher threshold. */
  trust: z.optional(nodeTrustSchema),
  /** The icecc runner: the icecream scheduler and build parallelism. */
  icecc: z.optional(z.strictObject({
    scheduler: z.optional(z.string().check(z.minLength(1))),
    jobs: z.optional(z.int().check(z.minimum(1), z.maximum(1024))),
    cc: z.optional(z.string().check(z.minLength(1))),
    cxx: z.optional(z.string().check(z.minLength(1))),
  })),
  /** What this machine accepts at most: anything beyond it is refused with the reason before anything runs. */
  policy: z.optional(nodePolicySchema),
  /**
   * Environment profiles this node keeps in step with the bus (env/<profile>/, README "Keeping every node's setup
   * in step"): `auto` lets the watcher apply a profile's changes (never over a file changed here), `manual` (the
   * default) only reports drift until someone runs `gitbus env apply`.
   */
  env: z.optional(z.array(z.strictObject({ profile: z.string().check(z.regex(ENV_PROFILE_RE, 'a profile name: lower-case letters, digits, "-" and "_"')), apply: z._default(z.enum(['auto', 'manual']), 'manual') })).check(z.maxLength(50))),
});
export type NodeConfig = z.infer<typeof nodeConfigSchema>;
