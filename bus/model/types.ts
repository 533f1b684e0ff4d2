import type { FileProblem } from '../../schemas/errors.js';

/** A file in one commit of main: its repo-relative path and blob oid. */
export interface FileRef {
  path: string;
  oid: string;
}

/** Every live file that belongs to one task id, found from file names alone (no parsing). */
export interface TaskFiles {
  id: string;
  handoff?: FileRef;
  claims: Map<number, FileRef>;
  releases: Map<number, FileRef>;
  cancel?: FileRef;
  response?: FileRef;
}

export interface TreeIndex {
  commit: string;
  tasks: Map<string, TaskFiles>;
  nodes: Map<string, FileRef>;
  settings?: FileRef;
  /** Names that break the layout rules (wrong pattern, symlinks, subfolders...). */
  problems: FileProblem[];
}

export type FinalState = 'succeeded' | 'failed' | 'cancelled' | 'timed-out';
export type TaskState = 'pending' | 'blocked' | 'claimed' | 'cancelling' | FinalState | 'invalid' | 'unsupported' | 'scheduled';

export const FINAL_STATES: readonly TaskState[] = ['succeeded', 'failed', 'cancelled', 'timed-out'];

export function isFinal(state: TaskState): state is FinalState {
  return FINAL_STATES.includes(state);
}
