import type { z } from 'zod/mini';
import { InvalidBusFileError, type FileProblem } from './errors.js';
import { capProblems, MAX_FILE_PROBLEMS, problemsFromIssues, problemsFromViolations, unknownFieldProblem } from './field-problems.js';
import { PROTOCOL_VERSION } from './field-limits.js';
import { parseFrontmatter, parseYamlFile, renderFrontmatter, type MappingResult } from './frontmatter.js';
import { isAttempt, isNodeName, isTaskId } from './ids.js';
import { KINDS, type KindData, type KindSpec } from './kinds.js';
import { classifyPath, FOLDER_KIND, isFileProblem, isLiveFolder, KIND_FOLDER, pathFor, SETTINGS_PATH, type BusKind, type BusPath, type BusPathOf } from './layout.js';
import { parseArchivePath } from './archive-layout.js';
import { renderYaml } from './safe-yaml.js';
import { resolveSettings, type ResolvedSettings } from './settings.js';
import { knownKeysAt, schemaAt } from './schema-walk.js';

/** `x-…` keys and `$schema`: accepted in any file, ignored by gitbus, written back as they were. */
export type Extras = Record<string, unknown>;

export interface BusFile<K extends BusKind = BusKind> {
  data: KindData[K];
  /** Markdown after the frontmatter, byte for byte; '' for gitbus.yaml. */
  body: string;
  extras: Extras;
}

/** A file that passed every rule. `warnings` are problems that do not stop it being used. */
export type ParseSuccess = {
  [K in BusKind]: { ok: true; kind: K; location: BusPathOf<K>; file: BusFile<K>; warnings: FileProblem[] };
}[BusKind];

/**
 * A file that cannot be used. `location` is set whenever the path itself is valid: an unreadable claim still takes
 * its attempt (PROTOCOL.md §4). `unsupportedProtocol` is set when the file is for a newer protocol than this
 * gitbus knows: not broken, just not for this node (PROTOCOL.md §6).
 */
export interface ParseFailure {
  ok: false;
  kind?: BusKind;
  location?: BusPath;
  unsupportedProtocol?: number;
  /** At least one; errors and warnings both. */
  problems: FileProblem[];
}

export type ParseResult = ParseSuccess | ParseFailure;

export function isExtraKey(key: string): boolean {
  return key === '$schema' || key.startsWith('x-');
}

/** Where editors find the JSON Schema, relative to the file (bus files sit one folder below the root). */
export function schemaRefFor(kind: BusKind): string {
  const file = `${KINDS[kind].schemaName}.schema.json`;
  return kind === 'settings' ? `schemas/${file}` : `../schemas/${file}`;
}

export const SETTINGS_HEADER = '# gitbus bus settings; see docs/PROTOCOL.md\n';

function specOf(kind: BusKind): KindSpec<BusKind> {
  return KINDS[kind] as KindSpec<BusKind>;
}

function fileProblem(path: string, field: string, reason: string, fix: string): FileProblem {
  return { path, field, reason, fix, severity: 'error' };
}

/** The fields the file name fixes must repeat it: the file name is the identity (PROTOCOL.md §2). */
function identityProblems(path: string, location: BusPath, raw: Record<string, unknown>): FileProblem[] {
  const out: FileProblem[] = [];
  const own = (key: string): unknown => (Object.hasOwn(raw, key) ? raw[key] : undefined);
  if ('id' in location) {
    const id = own('id');
    if (isTaskId(id) && id !== location.id) {
      out.push(
        fileProblem(
          path,
          'id',
          `the id "${id}" does not match the file name, which says "${location.id}"`,
          `set "id: ${location.id}"${location.kind === 'handoff' ? ' or remove the id field' : ''}; the file name is the task's identity`,
        ),
      );
    }
  }
  if ('attempt' in location) {
    const attempt = own('attempt');
    if (isAttempt(attempt) && attempt !== location.attempt) {
      out.push(
        fileProblem(
          path,
          'attempt',
          `the attempt ${attempt} does not match the file name, which says ${location.attempt}`,
          `set "attempt: ${location.attempt}"; the file name is the claim's identity`,
        ),
      );
    }
  }
  if (location.kind === 'node') {
    const node = own('node');
    if (isNodeName(node) && node !== location.node) {
      out.push(
        fileProblem(path, 'node', `the node "${node}" does not match the file name, which says "${location.node}"`, `set "node: ${location.node}"; a node writes only its own card`),
      );
    }
  }
  return out;
}

/**
 * Kinds whose fields grow with new gitbus versions and that older nodes must go on reading (PROTOCOL.md §1): the
 * bus settings, which an admin extends once some nodes are upgraded, and node cards, which a newer node writes
 * about itself. An unknown top-level field there is a warning and is ignored: rejecting the file would throw away
 * every other setting (a custom lease) or the whole card because of one field this node does not know. Handoffs
 * and claims stay strict: a task must not run with a field silently ignored.
 */
const GROWING_KINDS: ReadonlySet<BusKind> = new Set<BusKind>(['settings', 'node']);

/**
 * Names no gitbus field will ever have, that an object's key would turn into its prototype (or shadow it): refused
 * as unknown fields even in a growing kind, whose unknown keys ride along as extras.
 */
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function newerFieldProblem(path: string, key: string, known: readonly string[]): FileProblem {
  const typo = unknownFieldProblem(path, [], key, known);
  return {
    ...typo,
    reason: `unknown field "${key}", ignored: a field of a newer gitbus, or a typo`,
    fix: `if a newer gitbus wrote it, upgrade this node to act on it; if it is a typo, ${typo.fix}`,
    severity: 'warning',
  };
}

function readFile(path: string, kind: BusKind, content: string | Uint8Array): MappingResult {
  return kind === 'settings' ? parseYamlFile(path, content) : parseFrontmatter(path, content);
}

function parseAt(path: string, location: BusPath, content: string | Uint8Array): ParseResult {
  const kind = location.kind;
  const spec = specOf(kind);
  const read = readFile(path, kind, content);
  if (!read.ok) return { ok: false, kind, location, problems: read.problems };
  const raw = read.data;

  // A newer protocol may add fields, so its files are not judged by this version's rules at all.
  const protocol = Object.hasOwn(raw, 'protocol') ? raw['protocol'] : undefined;
  if (typeof protocol === 'number' && Number.isSafeInteger(protocol) && protocol > PROTOCOL_VERSION) {
    return {
      ok: false,
      kind,
      location,
      unsupportedProtocol: protocol,
      problems: [
        {
          path,
          field: 'protocol',
          reason: `the file is written for protocol ${protocol}, and this gitbus understands protocol ${PROTOCOL_VERSION}`,
          fix: 'upgrade gitbus on this node to read it; nodes that understand it will handle it',
          severity: 'warning',
        },
      ],
    };
  }

  const known = knownKeysAt(spec.schema, []);
  const fields: Record<string, unknown> = {};
  const extras: Extras = {};
  const problems: FileProblem[] = [];
  // Unknown fields are listed with the rest, but after them when there are too many to name each (capProblems):
  // a missing title is the problem to see first among thousands of stray keys.
  const unknown: FileProblem[] = [];
  for (const key of Object.keys(raw)) {
    if (isExtraKey(key)) extras[key] = raw[key];
    else if (known.includes(key)) fields[key] = raw[key];
    else if (GROWING_KINDS.has(kind) && !PROTOTYPE_KEYS.has(key)) {
      // Kept as an extra so that a node that rewrites the file (a card, `trust init`) gives it back unchanged.
      extras[key] = raw[key];
      unknown.push(newerFieldProblem(path, key, known));
    } else unknown.push(unknownFieldProblem(path, [], key, known));
  }
  if (unknown.length <= MAX_FILE_PROBLEMS) problems.push(...unknown.splice(0));
  const parsed = spec.schema.safeParse(fields, { reportInput: true });
  if (!parsed.success) problems.push(...problemsFromIssues(path, spec.schema, parsed.error.issues));
  problems.push(...identityProblems(path, location, raw));
  if (parsed.success) problems.push(...problemsFromViolations(path, spec.rules(parsed.data, location)));
  problems.push(...unknown);
  if (!parsed.success || problems.some((p) => p.severity === 'error')) return { ok: false, kind, location, problems: capProblems(path, problems) };
  // `kind`, `location` and `data` agree because all three come from `location.kind`; TS cannot follow that
  // correlation through the KINDS lookup.
  return { ok: true, kind, location, file: { data: parsed.data, body: read.body, extras }, warnings: capProblems(path, problems) } as ParseSuccess;
}

/**
 * Parses and validates one file of `main`, given its repo-relative path (`handoffs/<id>.md`, `claims/<id>.<n>.md`,
 * `nodes/<node>.md`, `gitbus.yaml`). Never throws for bad content: every problem comes back in the result.
 */
export function parseBusFile(path: string, content: string | Uint8Array): ParseResult {
  const where = classifyPath(path);
  if (where === undefined) {
    return {
      ok: false,
      problems: [fileProblem(path, '', 'it is not a gitbus file', `bus files are ${SETTINGS_PATH} and files in ${Object.keys(FOLDER_KIND).join('/, ')}/; a file of an environment profile (env/<profile>/) is linted with its profile, given by its path in a checkout of the bus`)],
    };
  }
  if (isFileProblem(where)) {
    const folder = path.slice(0, path.indexOf('/'));
    return isLiveFolder(folder) ? { ok: false, kind: FOLDER_KIND[folder], problems: [where] } : { ok: false, problems: [where] };
  }
  return parseAt(path, where, content);
}

/** Parses a file of the `archive` branch (`<yyyy-mm>/<id>/claim.<n>.md` and the like) by the same rules. */
export function parseArchivedFile(archivePath: string, content: string | Uint8Array): ParseResult {
  const where = parseArchivePath(archivePath);
  if (isFileProblem(where)) return { ok: false, problems: [where] };
  return parseAt(archivePath, where.location, content);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Only what YAML's core schema can carry and read back unchanged. Mapping values may be undefined: such keys are
 * left out, as `{ ...defaults, to: opts.to }` callers expect.
 */
function isPlainData(value: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => isPlainData(v, depth + 1));
  if (isPlainObject(value)) return Object.values(value).every((v) => v === undefined || isPlainData(v, depth + 1));
  return false;
}

/** A copy with mapping keys in the schema's declared order, dropping undefined values. */
function inDeclaredOrder(schema: z.ZodMiniType | undefined, value: unknown): unknown {
  if (schema === undefined) return value;
  if (Array.isArray(value)) return value.map((item) => inDeclaredOrder(schemaAt(schema, [0]), item));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of knownKeysAt(schema, [])) {
    if (value[key] !== undefined) out[key] = inDeclaredOrder(schemaAt(schema, [key]), value[key]);
  }
  return out;
}

/** The path a file with this data would have, for messages about data that is not yet a file. */
function intendedPath(kind: BusKind, data: unknown): string {
  const d = isPlainObject(data) ? data : {};
  const candidate = { kind, id: d['id'], attempt: d['attempt'], node: d['node'] } as BusPath;
  try {
    return pathFor(candidate);
  } catch {
    return kind === 'settings' ? SETTINGS_PATH : `${KIND_FOLDER[kind]}/(new ${kind})`;
  }
}

/**
 * Every problem `data` (with `extras`) would have as a file of this kind: what a writer checks before it commits.
 * The file name is not known here, so only rules inside the data apply.
 */
export function checkBusData<K extends BusKind>(kind: K, data: KindData[K], extras: Extras = {}): FileProblem[] {
  const spec = specOf(kind);
  const path = intendedPath(kind, data);
  const problems: FileProblem[] = [];
  for (const [key, value] of Object.entries(extras)) {
    // A growing kind's fields of a newer gitbus ride along as extras (parseAt), to be written back as they were.
    const newer = GROWING_KINDS.has(kind) && !knownKeysAt(spec.schema, []).includes(key);
    if (!isExtraKey(key) && !newer) problems.push(fileProblem(path, key, `"${key}" is not an extra field`, 'extra fields start with "x-" (or are "$schema")'));
    else if (value !== undefined && !isPlainData(value)) problems.push(fileProblem(path, key, 'the value is not plain data', 'use text, numbers, true/false, null, lists and mappings'));
  }
  const parsed = spec.schema.safeParse(data, { reportInput: true });
  if (!parsed.success) return [...problems, ...problemsFromIssues(path, spec.schema, parsed.error.issues)];
  if (!isPlainData(data)) problems.push(fileProblem(path, '', 'the data is not plain data', 'use text, numbers, true/false, null, lists and mappings'));
  return [...problems, ...problemsFromViolations(path, spec.rules(parsed.data, undefined))];
}

/** Keys in the order gitbus always writes them: `$schema`, the kind's fields as declared, then `x-` keys. */
function orderedFields(kind: BusKind, data: unknown, extras: Extras): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (extras['$schema'] !== undefined) out['$schema'] = extras['$schema'];
  Object.assign(out, inDeclaredOrder(specOf(kind).schema, data));
  for (const [key, value] of Object.entries(extras)) if (key !== '$schema' && value !== undefined) out[key] = value;
  return out;
}

/**
 * The text of a bus file. Throws InvalidBusFileError if the data breaks a rule, so gitbus never writes a file it
 * would itself reject. `parseBusFile` of the result gives back `data`, `body` and `extras`.
 */
export function renderBusFile<K extends BusKind>(kind: K, data: KindData[K], body = '', extras: Extras = {}): string {
  const errors = checkBusData(kind, data, extras).filter((p) => p.severity === 'error');
  if (kind === 'settings' && body !== '') {
    errors.push(fileProblem(SETTINGS_PATH, '', 'gitbus.yaml has no body', 'pass an empty body'));
  }
  if (errors.length > 0) throw new InvalidBusFileError(errors);
  const fields = orderedFields(kind, data, extras);
  if (kind === 'settings') return `${SETTINGS_HEADER}# yaml-language-server: $schema=${schemaRefFor(kind)}\n${renderYaml(fields)}`;
  return renderFrontmatter(fields, body, schemaRefFor(kind));
}

export type SettingsParseResult =
  | { ok: true; settings: ResolvedSettings; file: BusFile<'settings'>; warnings: FileProblem[] }
  | { ok: false; unsupportedProtocol?: number; problems: FileProblem[] };

/** gitbus.yaml, resolved (defaults filled in, durations in ms) for code that acts on the settings. */
export function parseSettingsFile(content: string | Uint8Array): SettingsParseResult {
  const r = parseBusFile(SETTINGS_PATH, content);
  if (r.ok) {
    // parseBusFile of gitbus.yaml can only yield settings; the check narrows the union for TS.
    if (r.kind !== 'settings') throw new Error(`unreachable: ${SETTINGS_PATH} parsed as ${r.kind}`);
    return { ok: true, settings: resolveSettings(r.file.data), file: r.file, warnings: r.warnings };
  }
  return r.unsupportedProtocol === undefined ? { ok: false, problems: r.problems } : { ok: false, unsupportedProtocol: r.unsupportedProtocol, problems: r.problems };
}

/** gitbus.yaml as `gitbus init` writes it. */
export function renderSettings(settings: KindData['settings'], extras: Extras = {}): string {
  return renderBusFile('settings', settings, '', extras);
}
