/**
 * Why the watcher woke: the poll tick, a file change, a freed slot, the retry timer, a heartbeat that got through,
 * or the deadline of a task it ranks among the first few nodes for (bus/model/claim-rank.ts).
 */
export type WakeReason = 'tick' | 'change' | 'slot' | 'retry' | 'beat' | 'rank';
