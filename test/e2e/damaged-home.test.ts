import { afterAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, truncateSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { showInProcess } from '../helpers/in-process.js';
import { mainListing } from '../helpers/refs.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { bounded, until } from '../helpers/wait.js';

type Check = { name: string; status: string; detail: string; fix: string | null };
type Doctor = { checks: Check[]; failed: number };
type Shown = { state: string; files: { path: string; text: string }[] };
type ErrorJson = { error: { code: string; message: string; fix: string } };

const cleanups: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});

/** A bus with one task whose handoff blob, trees and commit sit as loose objects in node boss's clone. */
async function damagedBus() {
  const bus = await makeBus({ node: 'boss' });
  cleanups.push(bus.cleanup);
  const home = bus.home('boss');
  const id = await bus.dispatch('boss', ['a task to read back', '--command', 'true']);
  const clone = join(home, 'clone.git');
  const oidOf = (rev: string) => gitCli(['--git-dir', clone, 'rev-parse', rev]).trim();
  const objectPath = (oid: string) => join(clone, 'objects', oid.slice(0, 2), oid.slice(2));
  const damage = (oid: string, how: (path: string) => void) => {
    const path = objectPath(oid);
    expect(existsSync(path), `object ${oid} is loose`).toBe(true);
    chmodSync(path, 0o644);
    how(path);
  };
  const doctor = async () => json<Doctor>(await gitbus(['doctor', '--json'], { home, timeoutMs: 60_000 }));
  const objectsCheck = async () => (await doctor()).checks.find((c) => c.name === 'home.objects');
  const show = (r: RunResult) => json<Shown>(r);
  return { bus, home, id, clone, oidOf, damage, doctor, objectsCheck, show };
}

describe('a damaged bus home', () => {
  it('a corrupt loose object in the clone is fetched again: show works, and doctor finds nothing left', async () => {
    const { home, id, oidOf, damage, objectsCheck, show } = await damagedBus();
    damage(oidOf(`main:handoffs/${id}.md`), (p) => writeFileSync(p, 'this is not zlib data'));
    const r = await gitbus(['show', id, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    expect(show(r).files.some((f) => f.path === `handoffs/${id}.md` && f.text.includes('a task to read back'))).toBe(true);
    expect((await objectsCheck())?.status).toBe('ok');
  });

  it('a truncated loose object (the root tree) is fetched again: status works', async () => {
    const { home, oidOf, damage, objectsCheck } = await damagedBus();
    damage(oidOf('main^{tree}'), (p) => truncateSync(p, Math.floor(statSync(p).size / 2)));
    const r = await gitbus(['status', '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    expect((await objectsCheck())?.status).toBe('ok');
  });

  it('a missing loose object is fetched again: show works', async () => {
    const { home, id, oidOf, damage, show } = await damagedBus();
    damage(oidOf('main:handoffs'), (p) => rmSync(p));
    const r = await gitbus(['show', id, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    expect(show(r).state).toBe('pending');
  });

  it('doctor finds a damaged object the commands would meet, and repairs it as they would', async () => {
    const { id, oidOf, damage, objectsCheck } = await damagedBus();
    damage(oidOf(`main:handoffs/${id}.md`), (p) => writeFileSync(p, 'garbage'));
    const check = await objectsCheck();
    expect(check?.status, JSON.stringify(check)).toBe('warn');
    expect(check?.detail).toContain('damaged');
    expect((await objectsCheck())?.status).toBe('ok');
  });

  it('with the remote gone, a corrupt object is a CLONE_DAMAGED error (exit 10) naming the fix, and doctor fails the same check', async () => {
    const { bus, home, id, oidOf, damage, doctor } = await damagedBus();
    damage(oidOf(`main:handoffs/${id}.md`), (p) => writeFileSync(p, 'garbage'));
    renameSync(bus.remote, `${bus.remote}.away`);
    try {
      const r = await gitbus(['show', id, '--json'], { home });
      expect(r.stderr).not.toContain('internal error');
      // show syncs first: with the remote gone that is the error, and it is not a bug either.
      expect([6, 10]).toContain(r.code);
      const d = await doctor();
      const objects = d.checks.find((c) => c.name === 'home.objects');
      expect(objects?.status, JSON.stringify(d.checks)).toBe('fail');
      expect(objects?.detail).toContain('damaged');
    } finally {
      renameSync(`${bus.remote}.away`, bus.remote);
    }
    const again = await gitbus(['show', id, '--json'], { home });
    expect(again.code, again.stderr).toBe(0);
  });

  it('a watcher whose clone has a damaged object repairs it and runs the task', async () => {
    const { bus, id } = await damagedBus();
    const worker = await bus.addNode('worker', [], ['--runner', 'shell']);
    const clone = join(worker, 'clone.git');
    const oid = gitCli(['--git-dir', clone, 'rev-parse', `main:handoffs/${id}.md`]).trim();
    const path = join(clone, 'objects', oid.slice(0, 2), oid.slice(2));
    chmodSync(path, 0o644);
    truncateSync(path, 5);
    const r = await gitbus(['watch', '--once', '--json'], { home: worker });
    expect(r.code, r.stderr).toBe(0);
    // The boss's home is not the damaged one: its reading is not the subject, and runs in this process.
    const shown = await showInProcess<Shown>(bus.home('boss'), id);
    expect(shown.state).toBe('succeeded');
  });

  it('an empty node.yaml names the file and what to write', async () => {
    const { home } = await damagedBus();
    writeFileSync(join(home, 'node.yaml'), '');
    const r = await gitbus(['status', '--json'], { home });
    expect(r.code).toBe(7);
    const e = json<ErrorJson>(r).error;
    expect(e.code).toBe('BAD_SETTINGS');
    expect(e.message).toContain(join(home, 'node.yaml'));
    expect(e.message).toContain('empty');
    expect(e.fix).toContain('remote:');
    const d = await gitbus(['doctor', '--json'], { home });
    expect(json<Doctor>(d).checks.find((c) => c.name === 'home.config')?.status).toBe('fail');
  });

  it('a truncated node.yaml names the file and the missing field', async () => {
    const { home } = await damagedBus();
    const path = join(home, 'node.yaml');
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.slice(0, text.indexOf('remote:')));
    const r = await gitbus(['status', '--json'], { home });
    expect(r.code).toBe(7);
    const e = json<ErrorJson>(r).error;
    expect(e.code).toBe('BAD_SETTINGS');
    expect(e.message).toContain(path);
    expect(e.message).toContain('"remote" is missing');
  });

  it('a misspelt field and a wrong value in node.yaml are named as bus files name them: the field, what was expected, the fix', async () => {
    const { home } = await damagedBus();
    const path = join(home, 'node.yaml');
    const good = readFileSync(path, 'utf8');
    writeFileSync(path, good.replace(/^runners:/m, 'runers:').replace(/^parallel: 1$/m, 'parallel: zero'));
    const r = await gitbus(['status', '--json'], { home });
    expect(r.code).toBe(7);
    const e = json<ErrorJson>(r).error;
    expect(e.code).toBe('BAD_SETTINGS');
    expect(e.message).toBe(`${path}: field "parallel": expected a whole number from 1 to 1000, got the text "zero" (and 1 more: "runers" unknown field "runers")`);
    expect(e.fix).toBe(`use a whole number from 1 to 1000, in ${path}`);
    writeFileSync(path, good.replace(/^runners:/m, 'runers:'));
    const misspelt = json<ErrorJson>(await gitbus(['status', '--json'], { home })).error;
    expect(misspelt.message).toBe(`${path}: field "runers": unknown field "runers"`);
    expect(misspelt.fix).toBe(`remove it or rename it to "runners", in ${path}`);
  });

  it('a node.yaml value that breaks a rule is told the rule: node name, label, parallel, a work root and its name', async () => {
    const { home } = await damagedBus();
    const path = join(home, 'node.yaml');
    const good = readFileSync(path, 'utf8');
    const refusal = async (yaml: string) => {
      writeFileSync(path, yaml);
      const r = await gitbus(['status', '--json'], { home });
      expect(r.code, r.stderr).toBe(7);
      return json<ErrorJson>(r).error;
    };
    const nodeRule = 'a node name: 1–40 characters of lower-case letters a–z, digits, "-" and "_", starting with a letter or digit';
    const node = await refusal(good.replace(/^node: .*$/m, 'node: ../x'));
    expect(node.message).toBe(`${path}: field "node": expected ${nodeRule}, got the text "../x"`);
    expect(node.fix).toBe(`use ${nodeRule}, in ${path}`);
    const label = await refusal(good.replace(/^labels: .*$/m, 'labels: ["gpu box"]'));
    expect(label.message).toContain('field "labels.0": expected a label: 1–40 characters of lower-case letters');
    expect(label.fix).toContain('use a label: 1–40 characters');
    const parallel = await refusal(good.replace(/^parallel: 1$/m, 'parallel: 0'));
    expect(parallel.message).toBe(`${path}: field "parallel": expected a whole number from 1 to 1000, got the number 0`);
    expect(parallel.fix).toBe(`use a whole number from 1 to 1000, in ${path}`);
    const root = await refusal(`${good}workRoots:\n  src: 5\n`);
    expect(root.message).toBe(`${path}: field "workRoots.src": expected a folder path: absolute, "~/…", or relative to the home, got the number 5`);
    const rootName = await refusal(`${good}workRoots:\n  Src: /tmp\n`);
    expect(rootName.message).toContain('field "workRoots.Src": the name "Src" is not a root name: 1–40 characters of lower-case letters');
    expect(rootName.fix).toContain('rename it: use a root name');
  });

  it('a clone without refs/heads/main fetches it again: status works and doctor agrees', async () => {
    const { home, clone, id, doctor } = await damagedBus();
    rmSync(join(clone, 'refs', 'heads', 'main'), { force: true });
    const r = await gitbus(['show', id, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    expect((await doctor()).failed).toBe(0);
  });

  it('a missing clone is cloned again, keeping node.yaml and logs; doctor agrees before and after', async () => {
    const { home, clone, id, doctor } = await damagedBus();
    mkdirSync(join(home, 'logs'), { recursive: true });
    writeFileSync(join(home, 'logs', 'kept.log'), 'a log\n');
    const config = readFileSync(join(home, 'node.yaml'), 'utf8');
    rmSync(clone, { recursive: true, force: true });
    const before = (await doctor()).checks.find((c) => c.name === 'home.clone');
    expect(before?.status).toBe('fail');
    expect(before?.fix).toContain('clones the bus again');
    const r = await gitbus(['show', id, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    expect(json<Shown>(r).state).toBe('pending');
    expect(readFileSync(join(home, 'node.yaml'), 'utf8')).toBe(config);
    expect(readFileSync(join(home, 'logs', 'kept.log'), 'utf8')).toBe('a log\n');
    expect((await doctor()).failed).toBe(0);
  });

  it("a clone whose objects folder is a file is cloned again (it was an internal error): status works, the broken one kept aside", async () => {
    const { home, clone, id } = await damagedBus();
    rmSync(join(clone, 'objects'), { recursive: true, force: true });
    writeFileSync(join(clone, 'objects'), 'x\n');
    const r = await gitbus(['show', id, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    expect(json<Shown>(r).state).toBe('pending');
    expect(statSync(join(clone, 'objects')).isDirectory()).toBe(true);
    expect(readdirSync(home).some((n) => n.startsWith('clone.git.damaged-'))).toBe(true);
  });

  it('a running watcher whose clone is deleted under it while a task runs clones again and delivers the result', { timeout: 120_000 }, async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const worker = await bus.addNode('worker', [], ['--runner', 'shell']);
    const clone = join(worker, 'clone.git');
    const watcher = startWatcher(worker, ['--poll', '1s', '--no-serve'], children);
    const explain = () => `${JSON.stringify(watcher.events())}\n${watcher.stderr()}`;
    const go = join(bus.dir, 'go');
    // Bounded (a minute): the task's shell outlives a watcher killed after a failure, and must not loop for ever.
    const id = await bus.dispatch('boss', ['its clone goes while it runs', '--to', 'worker', '--command', `for i in $(seq 600); do [ -e '${go}' ] && break; sleep 0.1; done`]);
    await until('the task to run', () => watcher.events().some((e) => e.type === 'claimed'), 30_000, explain);
    // Gone at once, as for the watcher a deletion is: an rm -rf walking the folder races the watcher's own writes in it.
    renameSync(clone, `${clone}.moved-away`);
    // Its looks (every poll) failed on the missing objects folder until a command cloned again.
    await until('the watcher to clone again', () => existsSync(join(clone, 'HEAD')) && existsSync(join(clone, 'objects')), 30_000, explain);
    writeFileSync(go, '');
    const responses = mainListing(bus.remote, 'responses');
    await until('the result to be delivered', () => responses().includes(`responses/${id}.md`), 60_000, explain);
    // A write under way as the folder went may fail once; the looks after it do not (they clone again).
    expect(watcher.events().filter((e) => e.type === 'error').length, explain()).toBeLessThanOrEqual(1);
  });

  it('a running watcher whose home is removed stops as at SIGTERM, says why, and makes nothing there again', { timeout: 60_000 }, async () => {
    const bus = await makeBus({ node: 'boss', initArgs: ['--heartbeat', '1s'] });
    cleanups.push(bus.cleanup);
    const worker = await bus.addNode('worker', [], ['--runner', 'shell']);
    const watcher = startWatcher(worker, ['--poll', '1s'], children);
    const explain = () => `${JSON.stringify(watcher.events())}\n${watcher.stderr()}`;
    await until('the watcher to start', () => watcher.events().some((e) => e.type === 'started'), 30_000, explain);
    // Before, it went on as node worker with no home: it cloned into the folder again, claimed this task and ran it.
    // Gone at once, as an rm -rf is for the watcher: one walking the folder races the watcher's own writes in it.
    renameSync(worker, `${worker}.removed`);
    rmSync(`${worker}.removed`, { recursive: true, force: true, maxRetries: 5 });
    await bus.dispatch('boss', ['for whoever is there', '--command', 'true']);
    expect(await bounded(watcher.exited, 30_000, 'the watcher to stop')).toBe(0);
    expect(watcher.events().find((e) => e.type === 'home-removed'), explain()).toMatchObject({ home: worker });
    expect(watcher.events().some((e) => e.type === 'claimed'), explain()).toBe(false);
    expect(existsSync(worker) ? readdirSync(worker, { recursive: true }) : null, explain()).toBeNull();
  });

  it('an empty clone.lock (left by a crash) does not stop the next command for long', async () => {
    const { home } = await damagedBus();
    writeFileSync(join(home, 'clone.lock'), '');
    const started = Date.now();
    const r = await gitbus(['status', '--json'], { home, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
