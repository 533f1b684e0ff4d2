import { z } from './zod.js';
import { KINDS, BUS_KINDS } from './kinds.js';
import type { BusKind } from './layout.js';

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';
/** Extension keys users and tools may add; mirrors `isExtraKey` in bus-file.ts. */
const EXTRA_KEY_PATTERN = '^x-';

type JsonObject = Record<string, unknown>;

/**
 * The JSON Schema of one kind's frontmatter (or of gitbus.yaml), from the same zod schema the parser uses. Rules
 * that span fields (a shell task needs a command) and the file-name checks exist only in gitbus itself; the
 * schema is for editors.
 */
export function jsonSchemaFor(kind: BusKind): JsonObject {
  const spec = KINDS[kind];
  const generated = z.toJSONSchema(spec.schema, { target: 'draft-2020-12', unrepresentable: 'throw' }) as JsonObject;
  const { $schema: _draft, description, properties, required, ...rest } = generated;
  delete rest['additionalProperties'];
  return {
    $schema: DRAFT,
    $id: `https://gitbus.invalid/schemas/${spec.schemaName}.schema.json`,
    title: spec.title,
    ...(description === undefined ? {} : { description }),
    ...rest,
    properties: {
      $schema: { type: 'string', description: 'the JSON Schema this file follows; ignored by gitbus' },
      ...(properties as JsonObject),
    },
    ...(required === undefined ? {} : { required }),
    patternProperties: { [EXTRA_KEY_PATTERN]: { description: 'free for users and tools; ignored by gitbus' } },
    additionalProperties: false,
  };
}

export function jsonSchemaFileName(kind: BusKind): string {
  return `${KINDS[kind].schemaName}.schema.json`;
}

/** Every kind's JSON Schema as file name → file text, for `schemas/json/` here and `schemas/` in a bus repo. */
export function jsonSchemaFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const kind of BUS_KINDS) files.set(jsonSchemaFileName(kind), `${JSON.stringify(jsonSchemaFor(kind), null, 2)}\n`);
  return files;
}
