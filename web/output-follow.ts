import type { BusContext } from '../bus/context.js';
import { isFinal } from '../bus/model/types.js';
import { taskOutput, type TaskOutput } from '../bus/ops/task-output.js';
import type { OutputChange } from '../bus/ops/output-change.js';
import { GitbusError, firstLine } from '../schemas/errors.js';
import { followOn, OutputFollower } from '../watcher/output-follow.js';

/**
 * What an output stream tells a page: the text so far (`reset`) or what came after it, and the end. With each
 * reset, `before`: how many bytes of this node's log of the run come before that text (`about`: an estimate, for a
 * claude run's lines made readable), and where all of it is (null when none do), since a page holds the log's last
 * window at most.
 */
export type OutputEvent =
  | { type: 'output'; reset: boolean; text: string; state: string; node: string | null; attempt: number | null; source: TaskOutput['source']; before?: { path: string; bytes: number; about: boolean } | null }
  | { type: 'end'; state: string }
  | { type: 'error'; code: string; message: string };

interface Follower {
  listeners: Set<(e: OutputEvent) => void>;
  /** What the pages following it were sent, and where this node's log of the run was read up to. */
  reader: OutputFollower;
  last: Extract<OutputEvent, { type: 'output' }> | null;
  running: boolean;
}

/**
 * A task's output as `gitbus logs --follow` shows it (bus/ops/task-output.ts, watcher/output-view.ts): read once a
 * second until the task ends, each time only what is new sent on. One reader per task however many pages follow
 * it; a page that joins gets the text so far first.
 */
export class OutputFollowers {
  private readonly followers = new Map<string, Follower>();
  private stopped = false;

  constructor(
    private readonly ctx: BusContext,
    private readonly intervalMs = 1000,
  ) {}

  follow(ref: string, fn: (e: OutputEvent) => void): () => void {
    let f = this.followers.get(ref);
    if (!f) {
      f = { listeners: new Set(), reader: new OutputFollower(), last: null, running: false };
      this.followers.set(ref, f);
    }
    f.listeners.add(fn);
    if (f.last) fn({ ...f.last, reset: true, text: f.reader.shown, before: f.reader.logBefore });
    if (!f.running) {
      const follower = f;
      this.run(ref, f).catch((err: unknown) => this.emit(follower, { type: 'error', code: 'INTERNAL', message: firstLine(err) }));
    }
    const follower = f;
    return () => {
      follower.listeners.delete(fn);
    };
  }

  stop(): void {
    this.stopped = true;
  }

  private emit(f: Follower, e: OutputEvent): void {
    for (const fn of [...f.listeners]) {
      try {
        fn(e);
      } catch {
        // a closed stream
      }
    }
  }

  private async run(ref: string, f: Follower): Promise<void> {
    f.running = true;
    try {
      while (!this.stopped && f.listeners.size > 0) {
        let out: TaskOutput;
        let change: OutputChange;
        try {
          // This node's log is read here by position (OutputFollower), so taskOutput need not read and convert its
          // window (up to 8 MiB) each second only to say where the task stands: it only looks at the log.
          const read = await followOn(this.ctx, await taskOutput(this.ctx, ref, { logText: false }), f.reader);
          out = read.out;
          change = read.step.change;
        } catch (err) {
          this.emit(f, { type: 'error', code: err instanceof GitbusError ? err.code : 'INTERNAL', message: firstLine(err) });
          return;
        }
        const facts = { state: out.state, node: out.node, attempt: out.attempt, source: out.source };
        const moved = f.last !== null && (f.last.state !== out.state || f.last.node !== out.node || f.last.attempt !== out.attempt);
        f.last = { type: 'output', reset: false, text: '', ...facts };
        if (change.reset || change.text || moved) this.emit(f, { type: 'output', ...change, ...facts, ...(change.reset ? { before: f.reader.logBefore } : {}) });
        // An archived task changes no more, whatever its state: one whose archived end is damaged or forged
        // (`invalid`) is ended here too, as `gitbus logs --follow` ends it, not followed each second for ever.
        if (isFinal(out.state) || out.archived) {
          this.emit(f, { type: 'end', state: out.state });
          return;
        }
        await new Promise((r) => setTimeout(r, this.intervalMs));
      }
    } finally {
      f.running = false;
      // The next page to follow it starts afresh (the task may have ended, or been archived, meanwhile).
      if (this.followers.get(ref) === f) this.followers.delete(ref);
    }
  }
}

