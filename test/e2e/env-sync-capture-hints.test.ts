import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, json } from '../helpers/cli.js';
import { envFleet, type EnvBus, type Node } from '../helpers/env-fleet.js';

/**
 * What `gitbus env` tells a user following README "Keeping every node's setup in step" (test/helpers/env-fleet.ts:
 * nodes a and b, fake HOMEs, a real bare remote, the CLI): every hint names the profile, not a placeholder.
 */

const fleet = envFleet();
const { envOf, envCmd, put, byHand, ok } = fleet;
let bus: EnvBus;

beforeAll(async () => {
  bus = await fleet.start();
}, 30_000);

afterAll(() => fleet.stop());

/** The CLI's words, as a person reads them (fleet.cli asks for --json). */
const words = (n: Node, args: string[]) => gitbus(args, { home: bus.home(n), env: envOf(n) });

type Held = { profiles: { files: { target: string; state: string; held?: string }[]; fix: string | null }[] };

describe('gitbus env hints', () => {
  it('names the profile in the fix for a file changed here and for a profile that must be captured again, never "PROFILE"', async () => {
    put('a', '.zshrc', 'export EDITOR=vi\n');
    ok(await envCmd('a', ['capture', 'shell', '--add', '~/.zshrc']));
    ok(await envCmd('b', ['apply', 'shell']));
    put('b', '.zshrc', 'export EDITOR=emacs\n');
    const status = json<Held>(await envCmd('b', ['status', 'shell'])).profiles[0];
    const zshrc = status?.files.find((f) => f.target === '~/.zshrc');
    expect(zshrc?.state).toBe('changed-here');
    expect(zshrc?.held).toMatch(/"gitbus env capture shell"/);
    expect(zshrc?.held).not.toMatch(/\bPROFILE\b/);
    const human = await words('b', ['env', 'apply', 'shell']);
    expect(human.code).toBe(5);
    expect(human.stdout).toMatch(/"gitbus env capture shell"/);
    expect(human.stdout).not.toMatch(/\bPROFILE\b/);

    // A file changed on the bus behind the manifest's back: the profile is invalid until captured again, by name.
    byHand((work) => writeFileSync(join(work, 'env/shell/files/home/.zshrc'), 'export EDITOR=nano\n'));
    const invalid = await envCmd('b', ['status', 'shell']);
    expect(invalid.code).toBe(8);
    const fix = JSON.stringify(json(invalid));
    expect(fix).toMatch(/gitbus env capture shell/);
    expect(fix).not.toMatch(/\bPROFILE\b/);
    const lint = await words('b', ['lint']);
    expect(lint.stdout + lint.stderr).toMatch(/gitbus env capture shell/);
    expect(lint.stdout + lint.stderr).not.toMatch(/\bPROFILE\b/);
  });
});
