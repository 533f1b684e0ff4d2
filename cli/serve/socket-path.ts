import { join } from 'node:path';

/**
 * Where a home's watcher listens for commands to serve, or null when the path is too long for a Unix socket (108
 * bytes on Linux, 104 on macOS, the terminating NUL included): such a home is not served.
 */
export function socketPath(home: string): string | null {
  const path = join(home, 'cli.sock');
  return Buffer.byteLength(path) < 104 ? path : null;
}
