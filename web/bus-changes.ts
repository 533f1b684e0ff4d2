import { existsSync } from 'node:fs';
import type { BusContext } from '../bus/context.js';
import { HEARTBEAT_PREFIX } from '../bus/model/liveness.js';
import { remoteFailureCode } from '../bus/remote-failure.js';
import { RemoteMainGoneError } from '../bus/remote-main-errors.js';
import { MAIN } from '../bus/repo.js';
import { firstLine } from '../schemas/errors.js';
import { wakeOnChange, type ChangeWatch } from '../watcher/wake-on-change.js';

/** What the pages are told: the bus moved (main, or some nodes' heartbeats), or the remote went away or came back. */
export type BusEvent =
  | { type: 'change'; main: boolean; nodes: string[]; at: string }
  | { type: 'offline'; code: string; reason: string; lastContact: string | null }
  | { type: 'online'; at: string };

/** Whether main moved between two listings of the remote, and whose heartbeats did. Pure. */
export function changedRefs(prev: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>): { main: boolean; nodes: string[] } {
  const nodes = new Set<string>();
  for (const [ref, oid] of next) if (ref.startsWith(HEARTBEAT_PREFIX) && prev.get(ref) !== oid) nodes.add(ref.slice(HEARTBEAT_PREFIX.length));
  for (const ref of prev.keys()) if (ref.startsWith(HEARTBEAT_PREFIX) && !next.has(ref)) nodes.add(ref.slice(HEARTBEAT_PREFIX.length));
  return { main: prev.get(MAIN) !== next.get(MAIN), nodes: [...nodes].sort() };
}

/**
 * One watcher of the bus per server, however many pages are open: the watcher's own cheap check (one listing of
 * the remote's refs; for a local remote a few file reads), at the poll interval and at once when a local remote's
 * or the clone's refs change (watcher/wake-on-change.ts). When main moved the clone is brought to it, so the pages'
 * reads that follow find it; then every subscriber hears `change` and reads again what it shows.
 */
export class BusChanges {
  private readonly listeners = new Set<(e: BusEvent) => void>();
  private last: ReadonlyMap<string, string> | null = null;
  private outage: Extract<BusEvent, { type: 'offline' }> | null = null;
  private checking: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private files: ChangeWatch | null = null;
  private debounce: NodeJS.Timeout | null = null;

  constructor(
    private readonly ctx: BusContext,
    private readonly opts: { pollMs: number; log: (line: string) => void; watchFiles?: boolean },
  ) {}

  async start(): Promise<void> {
    this.timer = setInterval(() => void this.check(), this.opts.pollMs);
    if (this.opts.watchFiles !== false) {
      this.files = await wakeOnChange({ clone: this.ctx.paths.clone, remote: this.ctx.repo.localRemotePath() }, () => {
        // A push renames a few files in a row: one check for the burst.
        if (this.debounce) return;
        this.debounce = setTimeout(() => {
          this.debounce = null;
          void this.check();
        }, 50);
      });
    }
    await this.check();
  }

  /** Adds a listener; a new one hears at once when the remote is down. Returns the unsubscribe. */
  subscribe(fn: (e: BusEvent) => void): () => void {
    this.listeners.add(fn);
    if (this.outage) fn(this.outage);
    return () => this.listeners.delete(fn);
  }

  /** Runs one check, or, while one runs, one more right after it: a change seen during a check is never lost. */
  check(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = (async () => {
      try {
        do {
          this.again = false;
          try {
            await this.checkOnce();
          } catch (err) {
            // A check must never end the server; the next tick tries again.
            this.opts.log(`gitbus ui: checking the bus failed: ${firstLine(err)}`);
          }
        } while (this.again);
      } finally {
        this.checking = null;
      }
    })();
    return this.checking;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    this.listeners.clear();
    await this.files?.close();
    await this.checking?.catch(() => undefined);
  }

  private emit(e: BusEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch {
        // one closed stream must not keep the others from hearing
      }
    }
  }

  private async checkOnce(): Promise<void> {
    // A home removed under the server (web/server.ts stops it): nothing is fetched into it again meanwhile.
    if (!existsSync(this.ctx.paths.config)) return;
    let refs: ReadonlyMap<string, string>;
    try {
      // A remote without main (deleted, or the repository replaced) is no bus to show: the pages' reads fail with
      // REMOTE_MAIN_GONE, so the header must not say "live".
      if ((await this.ctx.repo.remoteHead(MAIN)) === null) throw new RemoteMainGoneError(this.ctx.repo.transport.display, this.ctx.paths.clone, (await this.ctx.repo.localHead(MAIN)) ?? '(none)');
      refs = new Map(this.ctx.repo.lastRefs);
    } catch (err) {
      // An outage, or a failure of the remote a person must fix (a login refused, main deleted): offline either way.
      const code = remoteFailureCode(err);
      if (code === null) this.opts.log(`gitbus ui: checking the bus failed: ${firstLine(err)}`);
      if (!this.outage) {
        this.outage = { type: 'offline', code: code ?? 'ERROR', reason: firstLine(err), lastContact: this.ctx.repo.lastContact()?.toISOString() ?? null };
        this.emit(this.outage);
      }
      return;
    }
    const prev = this.last;
    this.last = refs;
    const wasDown = this.outage !== null;
    this.outage = null;
    if (wasDown) this.emit({ type: 'online', at: new Date().toISOString() });
    if (prev === null && !wasDown) return;
    const moved = changedRefs(prev ?? new Map(), refs);
    if (!moved.main && moved.nodes.length === 0 && !wasDown) return;
    if (moved.main) {
      try {
        await this.ctx.repo.sync(MAIN, { maxAgeMs: 5_000 });
      } catch {
        // The pages' own reads fetch it, or say the remote is down.
      }
    }
    this.emit({ type: 'change', main: moved.main || wasDown, nodes: moved.nodes, at: new Date().toISOString() });
  }
}
