import type { BatchResponse, RespondInput, RespondResult } from '../bus/ops/respond.js';

/**
 * Group commit for this node's results (docs/PROTOCOL.md §5, "Answering several at once"): a result submitted
 * while none is being pushed goes at once (after the current turn of the event loop, so that results handed in
 * together travel together); results submitted while a push is on the way go together in the next one. Runs that
 * end close together cost one push, and no result waits longer than one push for company.
 */
export class ResponseBatcher {
  private waiting: { input: RespondInput; resolve: (r: RespondResult) => void; reject: (e: unknown) => void }[] = [];
  private busy = false;
  private scheduled = false;

  constructor(private readonly send: (inputs: RespondInput[]) => Promise<BatchResponse[]>) {}

  submit(input: RespondInput): Promise<RespondResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.busy || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.busy) return;
    const batch = this.waiting.splice(0);
    if (batch.length === 0) return;
    this.busy = true;
    try {
      const responses = await this.send(batch.map((b) => b.input));
      batch.forEach((b, i) => {
        const r = responses[i];
        if (r?.ok) b.resolve(r.result);
        else b.reject(r ? r.error : new Error(`no answer for the result of ${b.input.id}`));
      });
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      this.busy = false;
      if (this.waiting.length > 0) this.schedule();
    }
  }
}
