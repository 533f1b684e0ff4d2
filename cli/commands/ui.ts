import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { InputError } from '../../bus/errors.js';
import { run, withCommon, type CommonOptions } from '../common.js';
import { durationFlag, durationMs, intFlag, UI_POLL_RANGE } from '../flags.js';
import { emit, note } from '../output.js';
import { preloadBusModules } from '../../bus/preload.js';

interface Opts extends CommonOptions {
  port: number;
  host: string;
  open?: boolean;
  poll?: string;
}

/** An address or host name to listen on: letters, digits, dots, colons and dashes, not starting with "-". */
function hostFlag(v: string): string {
  // `0`, `2130706433`, `0x7f.1`: IPv4 written short, which the system listens on (0 is every interface) but a browser
  // turns into another name (0.0.0.0, 127.0.0.1) than the one the server then answers to: every page was refused.
  if (isShortIpv4(v)) throw new InputError(`--host ${JSON.stringify(v)} is an IPv4 address written short, which a browser spells another way than this server would answer to`, 'write it out as four numbers: 0.0.0.0 for every interface, 127.0.0.1 for this machine alone', { flag: '--host', value: v });
  if (/^[A-Za-z0-9.:[\]][A-Za-z0-9.:[\]-]{0,252}$/.test(v)) return v.replace(/^\[(.*)\]$/, '$1');
  throw new InputError(`--host ${JSON.stringify(v)} is not valid: it is not an address or a host name`, 'give --host an address of this machine, such as 127.0.0.1 (the default), ::1 or 0.0.0.0', { flag: '--host', value: v });
}

/** Labels all numbers (decimal, octal or hex) but not four decimal ones from 0 to 255 written plainly. Pure. */
function isShortIpv4(v: string): boolean {
  const labels = v.split('.');
  if (!labels.every((l) => /^(0x[0-9a-f]*|[0-9]+)$/i.test(l))) return false;
  // Four plain numbers (one above 255 among them: not an address at all) are left to the listen, which says so.
  return !(labels.length === 4 && labels.every((l) => /^[0-9]+$/.test(l)));
}

export function register(program: Command): void {
  withCommon(
    program
      .command('ui')
      .description('a read-only web view of the bus, served by this process: the fleet, the tasks, one task with its live output, a fan-out group, the problems; pages update as the bus changes')
      .option('--port <n>', 'the port to listen on; 0 picks a free one', intFlag('--port', 0, 65535), 7420)
      .option('--host <addr>', 'the address to listen on: 127.0.0.1 keeps it to this machine; 0.0.0.0 shows the bus to anyone who can reach it', hostFlag, '127.0.0.1')
      .option('--open', 'open the page in the default browser (xdg-open or open)')
      .option('--poll <duration>', "how often the remote is checked for changes (default: the bus's poll setting; a local remote is watched as well)", durationFlag('--poll', { positive: true, range: UI_POLL_RANGE })),
  ).action(async (opts: Opts) =>
    run(opts, async (home) => {
      // Loaded only here: no other command needs the server.
      const [{ startUi }] = await Promise.all([import('../../web/server.js'), preloadBusModules()]);
      const poll = durationMs(opts.poll);
      const ui = await startUi({ home, host: opts.host, port: opts.port, ...(poll !== undefined ? { pollMs: poll } : {}), log: note });
      emit(opts, { url: ui.url }, () => `gitbus ui: ${ui.url} (read-only; Ctrl-C stops it)`);
      if (opts.host !== '127.0.0.1' && opts.host !== 'localhost' && opts.host !== '::1') note(`gitbus ui: warning: listening on ${opts.host}: anyone who can reach it sees the bus`);
      if (opts.open) openInBrowser(ui.url);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        void ui.stopped.then((why) => {
          note(`gitbus ui: stopped: ${why}`);
          resolve();
        });
      });
      await ui.close();
    }),
  );
}

/** The platform's "open this URL" command, when there is one; a machine without a desktop just prints the URL. */
function openInBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(cmd, [url], { detached: true, stdio: 'ignore' });
    child.on('error', () => note(`gitbus ui: cannot run ${cmd}: open ${url} in a browser`));
    child.unref();
  } catch {
    note(`gitbus ui: cannot run ${cmd}: open ${url} in a browser`);
  }
}
