import type { z } from 'zod';

/** The parts of a zod schema definition this module walks; zod's own def types are a union too wide to narrow. */
interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
}

function defOf(schema: z.ZodType): SchemaDef {
  return schema._zod.def as unknown as SchemaDef;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);

/** Peels optional/nullable wrappers, collecting the first description seen on the way in. */
function unwrap(schema: z.ZodType): { inner: z.ZodType; description: string | undefined } {
  let inner = schema;
  let description = schema.description;
  for (let def = defOf(inner); WRAPPERS.has(def.type) && def.innerType; def = defOf(inner)) {
    inner = def.innerType;
    description ??= inner.description;
  }
  return { inner, description };
}

/** The sub-schema at a field path, for descriptions and known keys; undefined when the path leaves the schema. */
export function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
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
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
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
export function describeSchema(schema: z.ZodType | undefined): string {
  if (schema === undefined) return 'a valid value';
  const { inner, description } = unwrap(schema);
  return description ?? TYPE_WORDS[defOf(inner).type] ?? 'a valid value';
}

