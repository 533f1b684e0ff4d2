import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { jsonSchemaFiles, jsonSchemaFor } from '../../schemas/json-schema.js';
import { BUS_KINDS } from '../../schemas/kinds.js';

const JSON_DIR = fileURLToPath(new URL('../../schemas/json/', import.meta.url));

describe('JSON Schemas', () => {
  it('one file per kind, with the names editors are pointed at', () => {
    expect([...jsonSchemaFiles().keys()].sort()).toEqual(
      ['cancel', 'claim', 'delivery', 'handoff', 'node-card', 'release', 'response', 'settings'].map((k) => `${k}.schema.json`),
    );
  });

  it('the committed files in schemas/json/ equal freshly generated ones (run `npm run schemas` if not)', () => {
    const files = jsonSchemaFiles();
    const committed = readdirSync(JSON_DIR).filter((n) => n.endsWith('.schema.json')).sort();
    expect(committed).toEqual([...files.keys()].sort());
    for (const [name, text] of files) expect(readFileSync(`${JSON_DIR}${name}`, 'utf8'), name).toBe(text);
  });

  it.each(BUS_KINDS)('%s: draft 2020-12, closed, but open to x- keys and $schema', (kind) => {
    const schema = jsonSchemaFor(kind);
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema['type']).toBe('object');
    expect(schema['additionalProperties']).toBe(false);
    expect(schema['patternProperties']).toEqual({ '^x-': expect.any(Object) });
    expect((schema['properties'] as Record<string, unknown>)['$schema']).toEqual(expect.objectContaining({ type: 'string' }));
  });

  it('carries the rules editors can check: patterns, limits, enums, required fields', () => {
    const handoff = jsonSchemaFor('handoff');
    const props = handoff['properties'] as Record<string, Record<string, unknown>>;
    expect(handoff['required']).toEqual(['title']);
    expect(props['id']?.['pattern']).toBe('^[a-z0-9][a-z0-9_-]{0,63}$');
    expect(props['title']).toMatchObject({ type: 'string', maxLength: 200, minLength: 1 });
    expect(props['command']).toMatchObject({ maxLength: 16384 });
    expect(props['priority']).toMatchObject({ type: 'integer', minimum: -1000, maximum: 1000 });
    expect(props['runner']?.['enum']).toEqual(['shell', 'tmux', 'claude', 'icecc', 'merge', 'manual']);
    expect(props['created']).toMatchObject({ format: 'date-time' });
    expect(props['timeout']).toMatchObject({ pattern: expect.stringContaining('ms|s|m|h|d') });
    expect(props['labels']).toMatchObject({ type: 'array', items: { pattern: '^[a-z0-9][a-z0-9_.:-]{0,39}$' } });
    expect(props['claude']).toMatchObject({ type: 'object', additionalProperties: false });
    const claim = jsonSchemaFor('claim');
    expect(claim['required']).toEqual(['id', 'attempt', 'node', 'claimed']);
    expect(jsonSchemaFor('settings')['required']).toEqual(['protocol']);
    for (const text of jsonSchemaFiles().values()) {
      // Every pattern compiles as an ECMA-262 regular expression with the `u` flag, as JSON Schema requires.
      for (const m of text.matchAll(/"pattern": ("(?:[^"\\]|\\.)*")/g)) expect(() => new RegExp(JSON.parse(m[1] ?? '""') as string, 'u')).not.toThrow();
    }
  });
});
