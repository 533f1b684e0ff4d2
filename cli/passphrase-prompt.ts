/**
 * Asks for an SSH key's passphrase on the terminal, without echo, like ssh does ("Enter passphrase for key
 * '…':"). Only when both stdin and stderr are a terminal: a watcher under a service manager, a pipe or a test
 * gets undefined, and the SSH transport falls back to GITBUS_SSH_PASSPHRASE or says to use ssh-agent.
 */
export function terminalPassphrasePrompt(): ((keyFile: string) => Promise<string | undefined>) | undefined {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return (keyFile) =>
    new Promise((resolve) => {
      const stdin = process.stdin;
      const wasRaw = stdin.isRaw;
      let typed = '';
      const done = (value: string | undefined) => {
        stdin.off('data', onData);
        stdin.setRawMode(wasRaw);
        stdin.pause();
        process.stderr.write('\n');
        resolve(value);
      };
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') return done(typed);
          if (ch === '\u0003' || ch === '\u0004') return done(undefined); // Ctrl-C, Ctrl-D: give up on this key
          if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
          else typed += ch;
        }
      };
      process.stderr.write(`Enter passphrase for key '${keyFile}': `);
      stdin.setRawMode(true);
      stdin.resume();
      stdin.on('data', onData);
    });
}
