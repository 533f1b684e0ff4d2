import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/cli.js';

/** What schemas/node-os.ts answers, and what of Node it loads for it, in a process of its own (dist/, as built). */
function inChild(env: NodeJS.ProcessEnv, call = 'osHomedir'): { home: string; osLoaded: boolean } {
  const url = pathToFileURL(join(ROOT, 'dist/schemas/node-os.js')).href;
  const script = `import { ${call} } from ${JSON.stringify(url)};
const home = ${call}();
process.stdout.write(JSON.stringify({ home, osLoaded: process.moduleLoadList.includes('NativeModule os') }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
  return JSON.parse(out) as { home: string; osLoaded: boolean };
}

describe('node:os on first use (schemas/node-os.ts)', () => {
  it('answers the home folder from $HOME without loading node:os, as os.homedir() does', () => {
    const r = inChild({ PATH: process.env['PATH'], HOME: '/somewhere/else' });
    expect(r).toEqual({ home: '/somewhere/else', osLoaded: false });
  });

  it('without $HOME asks node:os, which reads the passwd entry; an empty $HOME gets what os.homedir() gives', () => {
    expect(inChild({ PATH: process.env['PATH'] })).toEqual({ home: userInfo().homedir, osLoaded: true });
    // libuv takes a $HOME that is set, even empty, as the answer: os.homedir() is '' then, and so is this.
    const nodes = execFileSync(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(require("node:os").homedir()))'], { env: { PATH: process.env['PATH'], HOME: '' }, encoding: 'utf8' });
    expect(inChild({ PATH: process.env['PATH'], HOME: '' })).toEqual({ home: JSON.parse(nodes) as string, osLoaded: true });
  });

  it('answers the host name as os.hostname() does, on Linux from /proc without loading node:os', () => {
    const r = inChild({ PATH: process.env['PATH'] }, 'osHostname');
    expect(r).toEqual({ home: hostname(), osLoaded: process.platform !== 'linux' });
  });
});
