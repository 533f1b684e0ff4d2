import { describe, expect, it } from 'vitest';
import { parseYaml, renderYaml } from '../../schemas/safe-yaml.js';
import { yamlValue } from '../../schemas/yaml-line.js';
import { prng, yamlishString } from '../helpers/seeded-random.js';

/** What renderYaml writes for `{ k: value }`, without the key and the line's end. */
function byYaml(value: unknown): string {
  const text = renderYaml({ k: value });
  expect(text.startsWith('k: ')).toBe(true);
  return text.slice(3, -1);
}

describe('yamlValue (one line of YAML without the yaml package)', () => {
  it('writes every string, number, boolean and list it takes exactly as renderYaml does', () => {
    const rand = prng(20261205);
    let written = 0;
    for (let i = 0; i < 20_000; i++) {
      const value = i % 4 === 3 ? [yamlishString(rand, 3), yamlishString(rand, 3)].slice(0, 1 + Math.floor(rand() * 2)) : yamlishString(rand);
      const mine = yamlValue(value);
      if (mine === undefined) continue;
      written++;
      expect(mine, JSON.stringify(value)).toBe(byYaml(value));
      // Read back as the same value: a bus file gives back what was written (every third, for the time it takes).
      if (i % 3 === 0) expect(parseYaml('x', `k: ${mine}\n`), JSON.stringify(value)).toEqual({ ok: true, value: { k: value } });
    }
    // Most generated values are taken: the comparison covers yaml's choices, not only the values it is sure of.
    expect(written).toBeGreaterThan(10_000);
  });

  it('quotes what the core schema would read as another type, and what cannot be plain', () => {
    for (const s of ['null', '~', 'true', 'False', '42', '-3', '0o17', '0x1F', '1e3', '.5', '.inf', '.nan', 'a: b', 'a #b', '- a', '-', '?', '@x', '`x', '"x', 'x:', 'x ', ' x', '[x]', '{x}', '&a', '*a', '!t', '|', '>']) {
      expect(yamlValue(s), s).toBe(byYaml(s));
      expect(yamlValue(s), s).not.toBe(s);
    }
    for (const s of ['Run the tests', 'fix - the build', 'a:b', 'a#b', 'yes', 'no', '1_000', '0xg', 'x-1', "it's", 'é日本', '\u00a0x']) expect(yamlValue(s), s).toBe(s);
    expect(yamlValue(['gpu', 'a,b', '[x]'])).toBe(byYaml(['gpu', 'a,b', '[x]']));
    expect(yamlValue([])).toBe('[]');
  });

  it('leaves to yaml what it does not write itself', () => {
    for (const v of ['a\nb', 'a\tb', 'a\rb', '\u0000', '\u0085', '\u2028', '\ufeff', '\ud800x', 'x\udc00', '---x', '...', '%x', 1.5, -0, 2 ** 60, { a: 1 }, null, [1], [['a']]]) {
      expect(yamlValue(v), JSON.stringify(v)).toBeUndefined();
    }
  });

  it('writes whole numbers and booleans as yaml does', () => {
    for (const v of [0, 1, -1000, 1000, 123456789, true, false]) expect(yamlValue(v)).toBe(byYaml(v));
  });
});
