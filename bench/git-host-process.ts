import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * A git host over smart HTTP for `dir`'s bare repositories, in a process of its own (bench/git-host-serve.ts): for a
 * caller that times or runs commands with spawnSync, which stops its own event loop (the start-up bench,
 * scripts/cold-modules.mjs).
 */
export async function serveOverHttp(dir: string): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./git-host-serve.js', import.meta.url)), dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolveUrl(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`the git host exited (${code}) before serving`)));
  });
  return { url, stop: () => child.stdin.end() };
}
