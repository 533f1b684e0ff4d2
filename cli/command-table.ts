import type { Command } from 'commander';
import type { CommandBundle } from './bundle-names.js';

/**
 * Every command of the CLI, in the order `gitbus --help` lists them, and how to load it. main.ts imports only the
 * module of the command being run (a command module pulls in its whole layer: the bus, the watcher, Claude Code,
 * MCP, the web view), so that `gitbus status` does not compile the MCP SDK and `gitbus --version` compiles
 * nothing but commander (docs/ARCHITECTURE.md "How the CLI starts").
 *
 * `args` and `description` are what `gitbus --help` shows for a command without loading it: they repeat what the
 * module registers, and test/unit/command-table.test.ts fails, saying what to write here, when the two differ.
 * A new command is a file in cli/commands/ exporting `register(program)` and a row here.
 */
export interface CommandEntry {
  /** The command's name, as typed after `gitbus`. */
  name: string;
  /** What `gitbus --help` shows after the name: "[options]" when it has options, then its arguments. */
  args: string;
  description: string;
  load: () => Promise<{ register(program: Command): void }>;
  /**
   * The CommonJS bundle that bin/gitbus.js runs the command from: dist/cli/gitbus-<bundle>.cjs, which holds only
   * the modules of the rows that name it, instead of gitbus.cjs, the whole CLI. A bundle of the short bus commands
   * is 1.5 MB where the whole CLI is 2.2 MB: ~500 page faults less to read, keep and run at every start
   * (docs/ARCHITECTURE.md "How the CLI starts", docs/PERFORMANCE.md "One bundle per command"). And one of
   * Claude Code's hooks, which it runs at every prompt and every stop (PERFORMANCE.md "The hooks' own bundle").
   * `read` (status, show), `dispatch` and `claude` hold no zod, yaml or schemas: those commands often parse nothing
   * (their caches are warm; a plain handoff is written and checked by schemas/handoff-fast.ts), and run the schemas
   * script only when they do (cli/schemas-script.ts); the other commands that write a bus file need it at every run
   * and have it in their bundle. `dispatch` has a bundle of its own so that `status` does not read its modules.
   */
  bundle?: CommandBundle;
  /**
   * A short command that a running watcher's standby process may run for this one (cli/serve/): the client then
   * starts no more than Node and a socket (docs/ARCHITECTURE.md "Commands served by the watcher"). A function says
   * it for the command line, for a command with a long-lived form (`hook claude wait`, which may wait an hour).
   */
  served?: true | ((args: readonly string[]) => boolean);
  /**
   * Its plain command lines are read without commander (cli/plain-line.ts): its registration uses only what that
   * reader follows. test/unit/plain-line.test.ts fails when this differs from what the registration allows, so that
   * the commands commander must read (`hook`, at every Claude Code prompt) do not register twice.
   */
  plain?: true;
}

/** Whether a standby may run this command line (the arguments after `gitbus`), whose command is `entry`. */
export function servedFor(entry: CommandEntry, args: readonly string[]): boolean {
  return entry.served === true || (typeof entry.served === 'function' && entry.served(args));
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'init', args: '[options]', description: 'create a new bus and make this machine its first node', load: () => import('./commands/init.js'), plain: true },
  { name: 'join', args: '[options] <url>', description: 'add this machine to an existing bus as a new node', load: () => import('./commands/join.js'), plain: true },
  { name: 'dispatch', args: '[options] [title]', description: 'put a new task (a handoff) on the bus; prints its id. --from FILE: many tasks in one commit', load: () => import('./commands/dispatch.js'), bundle: 'dispatch', served: true, plain: true },
  { name: 'status', args: '[options]', description: 'nodes, tasks by state, and problems in the bus', load: () => import('./commands/status.js'), bundle: 'read', served: true, plain: true },
  { name: 'show', args: '[options] <id>', description: 'the handoff, claims and response of one task', load: () => import('./commands/show.js'), bundle: 'read', served: true, plain: true },
  { name: 'claim', args: '[options] [id]', description: 'claim a task for this node (for a person, or an agent working without the daemon)', load: () => import('./commands/claim.js'), bundle: 'bus', served: true, plain: true },
  { name: 'release', args: '[options] <id>', description: 'give a claimed task back to the queue', load: () => import('./commands/release.js'), bundle: 'bus', served: true, plain: true },
  { name: 'respond', args: '[options] <id>', description: 'report the result of a claimed task (like report-back)', load: () => import('./commands/respond.js'), bundle: 'bus', served: true },
  { name: 'cancel', args: '[options] [id]', description: 'cancel a task: at once if nobody runs it, else its node stops it; --group NAME: every task of a fan-out', load: () => import('./commands/cancel.js'), bundle: 'bus', served: true },
  { name: 'leave', args: '[options]', description: 'take a node off the bus: its card and heartbeat go, so status, claims and the push budget no longer count it (this node by default)', load: () => import('./commands/leave.js') },
  { name: 'lint', args: '[options] [path]', description: 'check bus files against the protocol; exits 8 when there are errors', load: () => import('./commands/lint.js'), plain: true },
  { name: 'archive', args: '[options]', description: 'move finished tasks from main to the archive branch', load: () => import('./commands/archive.js'), plain: true },
  { name: 'watch', args: '[options]', description: 'run the watcher in the foreground: claim tasks this node may run, run them, push the responses', load: () => import('./commands/watch.js'), plain: true },
  { name: 'serve', args: '[options]', description: "serve this home's short commands (status, dispatch, show, Claude Code's hooks, ...) from a warmed-up standby process while no watcher runs, until none came for a while", load: () => import('./commands/serve.js') },
  { name: 'logs', args: '[options] <id>', description: 'the output of a task: live from the node that runs it (any node can ask), or from its response; a claude run as readable lines', load: () => import('./commands/logs.js') },
  { name: 'run', args: '[options] <node> <cmd...>', description: 'run a command on a node and wait for it (like tw run): prints its output, exits with its exit code (9 when it ended without one)', load: () => import('./commands/run.js') },
  { name: 'attach', args: '[options] <id>', description: 'print the command that attaches to a running tmux task\'s session on its node (ssh -t HOST tmux attach ...); --exec runs it', load: () => import('./commands/attach.js'), plain: true },
  { name: 'resume', args: '[options] <id> <prompt>', description: 'continue a claude task\'s session on the node that ran it, in the same worktree or folder; prints the new task\'s id', load: () => import('./commands/resume.js') },
  { name: 'worktrees', args: '[options]', description: 'this node\'s project worktrees: their tasks on the bus, claude session, pushed and unpushed commits, uncommitted files, and whether they may be pruned', load: () => import('./commands/worktrees.js') },
  { name: 'service', args: '', description: 'run the watcher as a per-user service of this machine (systemd on Linux, launchd on macOS): install, uninstall, status', load: () => import('./commands/service.js') },
  { name: 'hooks', args: '', description: 'git hooks for a person\'s clone of the bus: check staged bus files, push each commit, list the responses a pull brings', load: () => import('./commands/hooks.js') },
  { name: 'gc', args: '[options]', description: "prune this node's clone of the bus: the objects of old history and of refs' old tips go, main and what the last commits name stay (a watcher does it at start and hourly)", load: () => import('./commands/gc.js') },
  { name: 'doctor', args: '[options]', description: 'check this node\'s setup: its home, the remote (reachable, a bus, writable), the clock, heartbeats, runners and git; exits 7 when a check fails', load: () => import('./commands/doctor.js'), plain: true },
  // Fan-out (README "A feature in parallel workstreams").
  { name: 'fanout', args: '[options] <plan>', description: 'put a fan-out on the bus in one commit: a task per workstream on branch <group>/<name>, all from one base, and an integration task that merges their branches into <group>/integration once all have ended', load: () => import('./commands/fanout.js'), plain: true },
  { name: 'group', args: '[options] <name>', description: 'a fan-out at a glance: each workstream\'s state, node, attempt, claude session, cost and changes, and the integration with its conflicts', load: () => import('./commands/group.js'), plain: true },
  { name: 'resolve', args: '[options] <id>', description: 'ask an agent to resolve an integration\'s merge conflicts: dispatches a task on the integration branch that merges the same branches in order, lists the conflicts by branch and file, and asks to resolve, test and commit', load: () => import('./commands/resolve.js'), plain: true },
  { name: 'mcp', args: '[options]', description: 'serve the bus to an MCP client (Claude Code, an agent) on standard input and output: tools dispatch, status, show, wait, logs, claim_next, respond', load: () => import('./commands/mcp.js'), plain: true },
  // Claude Code: the plugin's installer, the agent primer, hear-back (README "Using gitbus from Claude Code").
  { name: 'collect', args: '[options]', description: 'the responses that arrived since last time: the tasks this Claude Code session (or, outside one, this node) dispatched that have ended, with status and summary', load: () => import('./commands/collect.js'), served: true },
  { name: 'prime', args: '[options]', description: 'print the guide for an AI agent working with gitbus: what the bus is, the commands, and the rules for handing work to other machines and for working inside a task', load: () => import('./commands/prime.js') },
  { name: 'setup', args: '', description: 'set up tools around gitbus: "gitbus setup claude" installs the Claude Code plugin and the CLAUDE.md block', load: () => import('./commands/setup.js') },
  { name: 'hook', args: '', description: 'hooks of other tools that call gitbus: "gitbus hook claude EVENT" is run by the Claude Code plugin\'s hooks', load: () => import('./commands/hook.js'), bundle: 'claude', served: (args) => !args.includes('wait') },
  { name: 'progress', args: '[options] <text...>', description: 'inside a task: post a progress line, shown by status, logs and the dispatcher\'s dispatch --wait on any node (the watcher sends it with its next heartbeat, early when progress is posted)', load: () => import('./commands/progress.js'), served: true },
  { name: 'task', args: '[options]', description: 'inside a task: the task this process runs in (from GITBUS_TASK_ID): its handoff, attempt, node, worktree and latest progress', load: () => import('./commands/task.js'), plain: true },
  // Signatures (docs/PROTOCOL.md §11).
  { name: 'sign', args: '[options] <path>', description: 'sign a bus file with your SSH key (SSHSIG, as ssh-keygen -Y sign); writes signatures/<path>.sig next to it in the checkout', load: () => import('./commands/sign.js'), plain: true },
  { name: 'verify', args: '[options] <id>', description: 'check the signatures of a task\'s files (handoff, claims, releases, cancel, response) and name their signers; on a node that pinned the trust root, also whether it would run the task and which files count; exits 8 when a signature does not verify', load: () => import('./commands/verify.js'), plain: true },
  // Trust (docs/PROTOCOL.md §12): the trust root, its chain, and this node's pin.
  { name: 'trust', args: '', description: 'the trust root in the bus: who may sign, who may dispatch what, and what this node pinned (docs/PROTOCOL.md §12)', load: () => import('./commands/trust.js') },
  // Environment sync (README "Keeping every node's setup in step"): profiles under env/, drift by content hash.
  { name: 'env', args: '', description: 'keep every node\'s Claude Code and shell setup in step from the bus: profiles under env/, drift by content hash', load: () => import('./commands/env.js') },
  // The read-only web view (README "Seeing the fleet in a browser").
  { name: 'ui', args: '[options]', description: 'a read-only web view of the bus, served by this process: the fleet, the tasks, one task with its live output, a fan-out group, the problems; pages update as the bus changes', load: () => import('./commands/ui.js'), plain: true },
];
