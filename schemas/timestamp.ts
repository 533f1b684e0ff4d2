// Timestamps as bus files write them, as text and as instants: pure, without zod (the schema is in
// timestamp-schema.ts), so that a command that reads no file never loads zod (cli/schemas-script.ts).

// RFC 3339 `date-time` (section 5.6): a zone is mandatory; `T`/`Z` may be lower case per the RFC's ABNF.
import { digitCount, isAsciiDigit } from './text-scan.js';

export const TIMESTAMP_RE =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$/;
export const TIMESTAMP_RULE = 'an RFC 3339 timestamp with a zone, for example 2026-11-21T04:29:33Z or 2026-11-21T05:29:33.412+01:00';

/**
 * The instants a timestamp may name: years 0000-9999 in UTC. An offset can carry a time written in year 0000 or 9999
 * outside them (0000-01-01T00:30:00+01:00 is in year -1), where no RFC 3339 text, and no archive month, names it.
 */
const FIRST_MS = new Date('0000-01-01T00:00:00Z').getTime();
const END_MS = new Date('+010000-01-01T00:00:00Z').getTime();

/**
 * Epoch milliseconds of an RFC 3339 timestamp, or undefined when it is not one (including impossible dates, and
 * instants outside years 0000-9999 in UTC).
 */
export function timestampMs(text: string): number | undefined {
  const m = timestampGroups(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60) return undefined;
  let offsetMinutes = 0;
  const zone = m[8] ?? 'Z';
  if (zone !== 'Z' && zone !== 'z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  // A leap second (60) only in the last minute of a UTC day, as RFC 3339 and JSON Schema's `date-time` (which MCP
  // clients check results against) have it: one accepted elsewhere made every result that showed it invalid there.
  if (second === 60 && !isLeapMinute(hour, minute, offsetMinutes)) return undefined;
  const ms = Math.floor(Number(`0${m[7] ?? ''}`) * 1000);
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day); // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999
  utc.setUTCHours(hour, minute, second, ms);
  const at = utc.getTime() - offsetMinutes * 60_000;
  return at < FIRST_MS || at >= END_MS ? undefined : at;
}

/**
 * TIMESTAMP_RE's groups as `exec` gives them (an absent fraction undefined), or null: a scan, since V8 compiles a
 * regular expression at every start and this one is among a short command's dearest (schemas/text-scan.ts).
 */
export function timestampGroups(text: string): (string | undefined)[] | null {
  // YYYY-MM-DD[Tt]hh:mm:ss at fixed places, then an optional .fraction of 1-9 digits, then Z, z or +hh:mm / -hh:mm.
  if (text.length < 20 || !digitsAt(text, 0, 4) || text[4] !== '-' || !digitsAt(text, 5, 2) || text[7] !== '-' || !digitsAt(text, 8, 2)) return null;
  if ((text[10] !== 'T' && text[10] !== 't') || !digitsAt(text, 11, 2) || text[13] !== ':' || !digitsAt(text, 14, 2) || text[16] !== ':' || !digitsAt(text, 17, 2)) return null;
  let i = 19;
  let fraction: string | undefined;
  if (text[i] === '.') {
    const digits = digitCount(text, i + 1);
    if (digits === 0 || digits > 9) return null;
    const end = i + 1 + digits;
    fraction = text.slice(i, end);
    i = end;
  }
  const zone = text.slice(i);
  const named = zone === 'Z' || zone === 'z';
  if (!named && !(zone.length === 6 && (zone[0] === '+' || zone[0] === '-') && digitsAt(zone, 1, 2) && zone[3] === ':' && digitsAt(zone, 4, 2))) return null;
  return [text, text.slice(0, 4), text.slice(5, 7), text.slice(8, 10), text.slice(11, 13), text.slice(14, 16), text.slice(17, 19), fraction, zone];
}

function digitsAt(text: string, at: number, count: number): boolean {
  for (let k = at; k < at + count; k++) if (!isAsciiDigit(text.charCodeAt(k))) return false;
  return true;
}

/** Whether a time of day in a zone is 23:59 UTC, the only minute with a leap second. Pure. */
function isLeapMinute(hour: number, minute: number, offsetMinutes: number): boolean {
  const day = 24 * 60;
  return (((hour * 60 + minute - offsetMinutes) % day) + day) % day === day - 1;
}

/**
 * Epoch milliseconds of a time a bus file holds, for comparing and arithmetic: as timestampMs reads it (a leap second,
 * which RFC 3339 and the timestamp rule allow but Date.parse refuses, is the instant after it), else as Date.parse
 * reads it (a file an older gitbus wrote); NaN when neither does. Pure.
 */
export function instantMs(text: string): number {
  return timestampMs(text) ?? Date.parse(text);
}

export function isTimestamp(value: unknown): value is string {
  return typeof value === 'string' && timestampMs(value) !== undefined;
}

/** The timestamp gitbus writes: UTC with milliseconds. */
export function formatTimestamp(date: Date): string {
  return date.toISOString();
}
