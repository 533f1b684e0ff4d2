import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { ROOT, spawnBounded, tempDir } from '../helpers/cli.js';

/** The README's main-job command, exactly as a person runs it (with the build already done by `npm test`). */
describe('README quick start', () => {
  it('npm run quickstart: init, dispatch, claim, respond and show the response on the embedded bus', async () => {
    const dir = await tempDir();
    try {
      const home = join(dir.path, 'home');
      const r = await spawnBounded('npm', ['run', '--silent', 'quickstart'], { cwd: ROOT, env: { ...process.env, GITBUS_HOME: home, GITBUS_SKIP_BUILD: '1' }, timeoutMs: 120_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('$ gitbus init --node laptop');
      expect(r.stdout).toMatch(/created bus at .*remote\.git \(embedded\)/);
      expect(r.stdout).toMatch(/claimed \d{8}-\d{6}-[0-9a-z]{6} \(attempt 1\)/);
      expect(r.stdout).toMatch(/task \d{8}-\d{6}-[0-9a-z]{6}: succeeded/);
      expect(r.stdout).toContain('status: succeeded');
      expect(r.stdout).toContain('## Summary\n\nIt worked');
      expect(r.stdout).toContain('## Results\n\nhello');
    } finally {
      await dir.cleanup();
    }
  });
});
