import { z } from './zod.js';

/** The parts of a zod schema definition this module walks; zod's own def types are a union too wide to narrow. */
interface SchemaDef {
  type: string;
  innerType?: z.ZodMiniType;
  shape?: Record<string, z.ZodMiniType>;
  element?: z.ZodMiniType;
  keyType?: z.ZodMiniType;
  valueType?: z.ZodMiniType;
  format?: string;
  entries?: Record<string, unknown>;
  checks?: { _zod: { def: CheckDef } }[];
}

interface CheckDef {
  check: string;
  value?: unknown;
  inclusive?: boolean;
  minimum?: number;
  maximum?: number;
}

function defOf(schema: z.ZodMiniType): SchemaDef {
  return schema._zod.def as unknown as SchemaDef;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);

/** A schema's description: zod/mini has no `.description`; it is in the global registry, as classic zod's is. */
function descriptionOf(schema: z.ZodMiniType): string | undefined {
  return z.globalRegistry.get(schema)?.description;
}

/** Peels optional/nullable wrappers, collecting the first description seen on the way in. */
function unwrap(schema: z.ZodMiniType): { inner: z.ZodMiniType; description: string | undefined } {
  let inner = schema;
  let description = descriptionOf(schema);
  for (let def = defOf(inner); WRAPPERS.has(def.type) && def.innerType; def = defOf(inner)) {
    inner = def.innerType;
    description ??= descriptionOf(inner);
  }
  return { inner, description };
}

/** The sub-schema at a field path, for descriptions and known keys; undefined when the path leaves the schema. */
export function schemaAt(schema: z.ZodMiniType, path: readonly PropertyKey[]): z.ZodMiniType | undefined {
  let current: z.ZodMiniType | undefined = schema;
  for (const key of path) {
    if (current === undefined) return undefined;
    const def = defOf(unwrap(current).inner);
    if (def.type === 'object' && typeof key === 'string') current = def.shape?.[key];
    else if (def.type === 'array') current = def.element;
    // A record's keys are names the file chooses (`workRoots.src`): every one holds the same kind of value.
    else if (def.type === 'record' && typeof key === 'string') current = def.valueType;
    else return undefined;
  }
  return current;
}

/** The schema of a record's keys at this path (`workRoots`), for a key that is not a valid name. */
export function recordKeyAt(schema: z.ZodMiniType, path: readonly PropertyKey[]): z.ZodMiniType | undefined {
  const at = schemaAt(schema, path);
  if (at === undefined) return undefined;
  const def = defOf(unwrap(at).inner);
  return def.type === 'record' ? def.keyType : undefined;
}

/** The field names a mapping at this path accepts. */
export function knownKeysAt(schema: z.ZodMiniType, path: readonly PropertyKey[]): string[] {
  const at = schemaAt(schema, path);
  if (at === undefined) return [];
  const def = defOf(unwrap(at).inner);
  return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
}

const TYPE_WORDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  null: 'null',
};

/**
 * What a field expects, in words: its description, else its type. An enum's values are always named (after a
 * description that does not name them all): "the allowed values" would leave a person guessing.
 */
export function describeSchema(schema: z.ZodMiniType | undefined): string {
  if (schema === undefined) return 'a valid value';
  const { inner, description } = unwrap(schema);
  const def = defOf(inner);
  if (def.type === 'enum' && def.entries) {
    const values = Object.values(def.entries).map(String);
    const oneOf = `one of ${values.join(', ')}`;
    if (description === undefined) return oneOf;
    return values.every((v) => description.includes(v)) ? description : `${description} (${oneOf})`;
  }
  return description ?? TYPE_WORDS[def.type] ?? 'a valid value';
}


/**
 * What a value must be, in words, from the schema's type and bounds: for a tool's arguments, whose descriptions
 * say what an argument is for ("list at most this many tasks"), not what it takes. A description of the value's
 * own schema (a task id, a node name) is kept: it says what the value is. Pure.
 */
export function describeRule(schema: z.ZodMiniType | undefined): string {
  if (schema === undefined) return 'a valid value';
  const { inner } = unwrap(schema);
  const own = descriptionOf(inner);
  if (own !== undefined) return own;
  const def = defOf(inner);
  const checks = (def.checks ?? []).map((c) => c._zod.def);
  const lower = checks.find((c) => c.check === 'greater_than');
  const upper = checks.find((c) => c.check === 'less_than');
  const minLen = checks.find((c) => c.check === 'min_length')?.minimum;
  const maxLen = checks.find((c) => c.check === 'max_length')?.maximum;
  if (def.type === 'number') {
    const what = def.format !== undefined && /int/.test(def.format) ? 'a whole number' : 'a number';
    return `${what}${range(lower && { n: lower.value, inclusive: lower.inclusive !== false }, upper && { n: upper.value, inclusive: upper.inclusive !== false })}`;
  }
  if (def.type === 'array' || def.type === 'string') {
    const unit = def.type === 'array' ? 'item' : 'character';
    const what = def.type === 'array' ? 'a list' : 'text';
    if (minLen !== undefined && maxLen !== undefined) return `${what} of ${minLen} to ${maxLen} ${unit}s`;
    if (minLen !== undefined) return `${what} of ${minLen} or more ${unit}s`;
    if (maxLen !== undefined) return `${what} of at most ${maxLen} ${unit}${maxLen === 1 ? '' : 's'}`;
    return what;
  }
  if (def.type === 'enum' && def.entries) return `one of ${Object.values(def.entries).map(String).join(', ')}`;
  return TYPE_WORDS[def.type] ?? describeSchema(schema);
}

function range(lower: { n: unknown; inclusive: boolean } | undefined, upper: { n: unknown; inclusive: boolean } | undefined): string {
  if (lower?.inclusive && upper?.inclusive) return ` from ${String(lower.n)} to ${String(upper.n)}`;
  const parts = [lower && (lower.inclusive ? `${String(lower.n)} or more` : `more than ${String(lower.n)}`), upper && (upper.inclusive ? `${String(upper.n)} or less` : `less than ${String(upper.n)}`)].filter(Boolean);
  return parts.length === 0 ? '' : ` of ${parts.join(' and ')}`;
}
