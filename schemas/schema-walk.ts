import { z } from './zod.js';

/** The parts of a zod schema definition this module walks; zod's own def types are a union too wide to narrow. */
interface SchemaDef {
  type: string;
  innerType?: z.ZodMiniType;
  shape?: Record<string, z.ZodMiniType>;
  element?: z.ZodMiniType;
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
    else return undefined;
  }
  return current;
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
  enum: 'one of the allowed values',
};

/** What a field expects, in words: its description, else its type. */
export function describeSchema(schema: z.ZodMiniType | undefined): string {
  if (schema === undefined) return 'a valid value';
  const { inner, description } = unwrap(schema);
  return description ?? TYPE_WORDS[defOf(inner).type] ?? 'a valid value';
}

