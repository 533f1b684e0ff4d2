import { z } from './zod.js';
import { decodeUtf8Strict } from './utf8.js';
import type { FileProblem } from './errors.js';
import type { FieldViolation } from './kind-rules.js';
import { problemsFromIssues, problemsFromViolations } from './field-problems.js';
import { nodeNameSchema, text } from './fields.js';
import { parseYaml, renderYaml } from './safe-yaml.js';
import { timestampSchema } from './timestamp-schema.js';
import { withRule } from './rule.js';
import {
  ENV_MAX_FILE_BYTES,
  ENV_MAX_FILES,
  ENV_MAX_PROFILE_BYTES,
  ENV_OS,
  neverSynced,
  secretName,
  SOURCE_RULE,
  TARGET_RULE,
  targetRel,
  whyNotSource,
  whyNotTarget,
} from './env-paths.js';

/**
 * `env/<profile>/manifest.yaml` (docs/PROTOCOL.md "env/ profiles"): where each file of a profile goes on a node,
 * and the SHA-256 of every file it installs, so that one signature over the manifest covers the whole profile.
 */

export const ENV_MANIFEST_FORMAT = 1;

const targetSchema = withRule(z.string(), (t) => {
  const why = whyNotTarget(t);
  return why === undefined ? undefined : { reason: `${JSON.stringify(t)} is not a target: ${why}`, fix: `write ${TARGET_RULE}` };
}).register(z.globalRegistry, { description: TARGET_RULE });

const sourceSchema = withRule(z.string(), (s) => {
  const why = whyNotSource(s);
  return why === undefined ? undefined : { reason: `${JSON.stringify(s)} is not a source: ${why}`, fix: `write ${SOURCE_RULE}` };
}).register(z.globalRegistry, { description: SOURCE_RULE });

/** A top-level key of a JSON file merged by keys: any text a JSON object may have, on one line. */
const jsonKeySchema = text({ what: 'a top-level key of the JSON file', maxChars: 200, oneLine: true });

export const envEntrySchema = z.strictObject({
  source: sourceSchema,
  target: targetSchema,
  kind: z.optional(z.enum(['file', 'dir'])).register(z.globalRegistry, { description: 'file (the default) or dir: a folder whose files are all synced' }),
  merge: z.optional(z.enum(['replace', 'json'])).register(z.globalRegistry, { description: 'replace (the default): the file is written whole; json: its top-level keys are set, every other key of the node\'s file is kept' }),
  keys: z.optional(z.array(jsonKeySchema).check(z.maxLength(200))).register(z.globalRegistry, { description: 'json only: the top-level keys the profile manages (default: those the captured file had)' }),
  os: z.optional(z.array(z.enum(ENV_OS)).check(z.minLength(1), z.maxLength(10))).register(z.globalRegistry, { description: `only on these systems: ${ENV_OS.join(', ')}` }),
  nodes: z.optional(z.array(nodeNameSchema).check(z.minLength(1), z.maxLength(100))).register(z.globalRegistry, { description: 'only on these nodes' }),
}).register(z.globalRegistry, { description: 'an entry: {source, target, kind, merge, keys, os, nodes}' });

export const envFileSchema = z.strictObject({
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)).register(z.globalRegistry, { description: 'the SHA-256 of the file, 64 lower-case hex digits' }),
  size: z.int().check(z.minimum(0), z.maximum(ENV_MAX_FILE_BYTES)).register(z.globalRegistry, { description: `its size in bytes, at most ${ENV_MAX_FILE_BYTES}` }),
  executable: z.optional(z.boolean()).register(z.globalRegistry, { description: 'whether it is written executable' }),
}).register(z.globalRegistry, { description: 'a file of the profile: {sha256, size, executable}' });

export const envManifestSchema = z.strictObject({
  format: z.literal(ENV_MANIFEST_FORMAT).register(z.globalRegistry, { description: `the manifest format, ${ENV_MANIFEST_FORMAT}` }),
  description: z.optional(text({ what: 'what the profile is for', maxChars: 500 })),
  updated: z.optional(timestampSchema),
  by: z.optional(nodeNameSchema).register(z.globalRegistry, { description: 'the node that captured it last' }),
  entries: z.array(envEntrySchema).check(z.maxLength(500)),
  files: z.record(sourceSchema, envFileSchema).register(z.globalRegistry, { description: 'every file under files/, by its path there' }),
}).register(z.globalRegistry, { description: 'an environment profile: env/<profile>/manifest.yaml' });

export type EnvEntry = z.infer<typeof envEntrySchema>;
export type EnvFile = z.infer<typeof envFileSchema>;
export type EnvManifest = z.infer<typeof envManifestSchema>;

/** What an entry applies to, as a key: two entries of one target with the same key are ambiguous. */
export function variantKey(e: Pick<EnvEntry, 'os' | 'nodes'>): string {
  return `${[...(e.nodes ?? [])].sort().join(',')}|${[...(e.os ?? [])].sort().join(',')}`;
}

const isUnder = (path: string, dir: string): boolean => path.startsWith(`${dir}/`);

/** Rules across fields and entries, once each field passed on its own; `profile` is named in the fixes' commands. */
export function manifestRules(m: EnvManifest, profile = 'PROFILE'): FieldViolation[] {
  const out: FieldViolation[] = [];
  const err = (field: string, reason: string, fix: string) => out.push({ field, reason, fix, severity: 'error' });
  const sources = Object.keys(m.files);
  if (sources.length > ENV_MAX_FILES) err('files', `the profile has ${sources.length} files, more than ${ENV_MAX_FILES}`, 'split it into several profiles');
  const total = Object.values(m.files).reduce((n, f) => n + f.size, 0);
  if (total > ENV_MAX_PROFILE_BYTES) err('files', `the profile's files add up to ${total} bytes, more than ${ENV_MAX_PROFILE_BYTES}`, 'leave large files out, or split the profile');
  for (const s of sources) {
    const inside = sources.find((o) => isUnder(o, s));
    if (inside !== undefined) err(`files.${s}`, `${s} is a file and also holds ${inside}`, 'a path is a file or a folder, not both');
  }
  const seen = new Map<string, number>();
  for (const [i, e] of m.entries.entries()) {
    const field = `entries.${i}`;
    const kind = e.kind ?? 'file';
    if (e.merge === 'json' && kind !== 'file') err(`${field}.merge`, 'merge: json is for a file, not a folder', 'remove merge, or make the entry a file');
    if (e.keys !== undefined && e.merge !== 'json') err(`${field}.keys`, 'keys are only for merge: json', 'remove keys, or add merge: json');
    // Own keys only: a source named "constructor" is not a file of every manifest.
    if (kind === 'file' && !Object.hasOwn(m.files, e.source)) err(`${field}.source`, `${e.source} is not among the profile's files`, `capture the profile again ("gitbus env capture ${profile}")`);
    if (kind === 'dir' && Object.hasOwn(m.files, e.source)) err(`${field}.source`, `${e.source} is a file, but the entry is a folder`, 'write kind: file, or point source at a folder');
    const key = `${e.target}\0${variantKey(e)}`;
    const before = seen.get(key);
    if (before !== undefined) err(field, `entries ${before} and ${i} both put a file at ${e.target} for the same systems and nodes`, 'remove one of them, or give one an os: or nodes: filter');
    else seen.set(key, i);
    for (const [j, o] of m.entries.entries()) {
      if (j <= i || o.target === e.target) continue;
      if (isUnder(o.target, e.target) || isUnder(e.target, o.target)) err(field, `${e.target} (entry ${i}) and ${o.target} (entry ${j}) overlap: one is inside the other`, 'sync the folder, or the files in it, not both');
    }
    const never = neverSynced(targetRel(e.target));
    if (never !== undefined) out.push({ field: `${field}.target`, reason: `${e.target} is never synced: ${never}`, fix: 'remove the entry; nodes skip it', severity: 'warning' });
    const name = e.target.slice(e.target.lastIndexOf('/') + 1);
    const secret = kind === 'file' ? secretName(name) : undefined;
    if (secret !== undefined) out.push({ field: `${field}.target`, reason: `${e.target} looks like a secret (${secret}) and is never synced`, fix: 'remove the entry; nodes skip it', severity: 'warning' });
  }
  return out;
}

export type ManifestParse = { ok: true; manifest: EnvManifest; warnings: FileProblem[] } | { ok: false; problems: FileProblem[] };


/**
 * Parses a manifest's bytes (untrusted): safe YAML, the strict schema, then the rules across entries. `profile` is
 * named in the commands the fixes offer.
 */
export function parseEnvManifest(path: string, bytes: Uint8Array, profile = 'PROFILE'): ManifestParse {
  let textValue: string;
  try {
    textValue = decodeUtf8Strict(bytes);
  } catch {
    return { ok: false, problems: [{ path, field: '', reason: 'the manifest is not valid UTF-8', fix: `capture the profile again ("gitbus env capture ${profile}")`, severity: 'error' }] };
  }
  const yaml = parseYaml(path, textValue);
  if (!yaml.ok) return { ok: false, problems: yaml.problems };
  const r = envManifestSchema.safeParse(yaml.value, { reportInput: true });
  if (!r.success) return { ok: false, problems: problemsFromIssues(path, envManifestSchema, r.error.issues) };
  const found = problemsFromViolations(path, manifestRules(r.data, profile));
  const errors = found.filter((p) => p.severity === 'error');
  if (errors.length > 0) return { ok: false, problems: errors };
  return { ok: true, manifest: r.data, warnings: found };
}

/** The manifest as gitbus writes it: a comment, then fields in the schema's order, files sorted by path. */
export function renderEnvManifest(m: EnvManifest): string {
  const files = Object.fromEntries(Object.keys(m.files).sort().map((k) => [k, m.files[k]]));
  const ordered: Record<string, unknown> = { format: m.format };
  if (m.description !== undefined) ordered['description'] = m.description;
  if (m.updated !== undefined) ordered['updated'] = m.updated;
  if (m.by !== undefined) ordered['by'] = m.by;
  ordered['entries'] = m.entries;
  ordered['files'] = files;
  return `# gitbus environment profile; see docs/PROTOCOL.md "env/ profiles". Written by "gitbus env capture".\n${renderYaml(ordered)}`;
}
