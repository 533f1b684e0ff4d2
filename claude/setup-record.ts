import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../bus/local-io.js';
import type { BackupPlace, SettingsBefore } from './settings.js';

/**
 * Setup's record of what a settings file held of gitbus's before setup first changed it, beside that file's
 * backups: --remove reads it to put back an enablement the user had and to keep a file the user had, and deletes it.
 */
export function recordFile(place: BackupPlace): string {
  return join(place.dir, `${place.label}.before-gitbus-setup.json`);
}

/** The record, or null: none, or one that is not setup's (a record it cannot read makes --remove keep more, not less). */
export function readRecord(file: string): SettingsBefore | null {
  try {
    if (!existsSync(file)) return null;
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { created?: unknown; enabled?: unknown };
    if (typeof raw.created !== 'boolean' || !(raw.enabled === null || typeof raw.enabled === 'boolean')) return null;
    return { created: raw.created, enabled: raw.enabled };
  } catch {
    return null;
  }
}

export function writeRecord(file: string, settingsFile: string, before: SettingsBefore): void {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writeFileAtomicSync(file, `${JSON.stringify({ settingsFile, ...before }, null, 2)}\n`);
}

export function dropRecord(file: string): void {
  rmSync(file, { force: true });
}
