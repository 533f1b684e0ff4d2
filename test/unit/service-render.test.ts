import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderSystemdUnit, systemdUnitName, journalCommand, stopTimeoutSeconds } from '../../watcher/service/systemd-unit.js';
import { renderLaunchdPlist, launchdLabel, launchdPlistName, launchdLogPath, xmlEscape } from '../../watcher/service/launchd-plist.js';
import { serviceTarget } from '../../watcher/service/service.js';
import { setting, systemdWords } from '../helpers/systemd-unit.js';
import { pathDirs, planServicePath, whichOn } from '../../watcher/service/service-path.js';
import { launchdEnvironment, serviceEnvironment, systemdEnvironment } from '../../watcher/service/read-service.js';
import type { NodeConfig } from '../../bus/home.js';

const NODE = process.execPath;
const ENTRY = '/opt/gitbus/bin/gitbus.js';
const ODD = `/tmp/my bus & <co> "q" 'a' $HOME 100% back\\slash`;

/** The values of a plist's <string> elements, decoded. */
function plistStrings(xml: string): string[] {
  return [...xml.matchAll(/<string>([^<]*)<\/string>/g)].map((m) => (m[1] ?? '').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&apos;', "'").replaceAll('&amp;', '&'));
}

describe('systemd user unit', () => {
  it('runs the watcher for the home, restarts on failure, stops with SIGTERM after the grace, logs to the journal', () => {
    const unit = renderSystemdUnit({ node: 'gpu-box', home: '/home/ada/.gitbus', nodePath: '/usr/local/bin/node', entry: ENTRY });
    expect(setting(unit, 'ExecStart')).toEqual([`/usr/local/bin/node ${ENTRY} watch --home /home/ada/.gitbus`]);
    expect(setting(unit, 'WorkingDirectory')).toEqual(['/home/ada/.gitbus']);
    expect(setting(unit, 'Environment')).toEqual(['"GITBUS_HOME=/home/ada/.gitbus"', '"PATH=/usr/local/bin:/usr/bin:/bin"']);
    expect(setting(unit, 'Restart')).toEqual(['on-failure']);
    expect(setting(unit, 'RestartSec')).toEqual(['10s']);
    expect(setting(unit, 'KillSignal')).toEqual(['SIGTERM']);
    expect(setting(unit, 'KillMode')).toEqual(['mixed']);
    expect(setting(unit, 'TimeoutStopSec')).toEqual([`${stopTimeoutSeconds()}s`]);
    expect(stopTimeoutSeconds()).toBeGreaterThan(30);
    expect(stopTimeoutSeconds(60_000)).toBeGreaterThan(60);
    expect(setting(unit, 'StandardOutput')).toEqual(['journal']);
    expect(setting(unit, 'WantedBy')).toEqual(['default.target']);
    expect(unit).toContain('journalctl --user -u gitbus-watch-gpu-box.service');
    expect(unit).toMatch(/^\[Unit\]$/m);
    expect(unit).toMatch(/^\[Service\]$/m);
    expect(unit).toMatch(/^\[Install\]$/m);
  });

  it('quotes and escapes odd paths so systemd reads back exactly the same argv and environment', () => {
    const nodePath = '/opt/my node$/bin/node';
    const unit = renderSystemdUnit({ node: 'alpha', home: ODD, nodePath, entry: `${ODD}/bin/gitbus.js` });
    expect(systemdWords(setting(unit, 'ExecStart')[0] ?? '', true)).toEqual([nodePath, `${ODD}/bin/gitbus.js`, 'watch', '--home', ODD]);
    const env = setting(unit, 'Environment').map((e) => systemdWords(e, false));
    expect(env).toEqual([[`GITBUS_HOME=${ODD}`], ['PATH=/opt/my node$/bin:/usr/local/bin:/usr/bin:/bin']]);
    expect(setting(unit, 'WorkingDirectory').map((w) => w.replaceAll('%%', '%'))).toEqual([ODD]);
  });

  it('is accepted by systemd-analyze verify, odd paths included (where systemd-analyze is installed)', () => {
    if (spawnSync('systemd-analyze', ['--version'], { timeout: 10_000 }).status !== 0) return;
    const dir = mkdtempSync(join(tmpdir(), 'gitbus-unit-'));
    try {
      const runtime = mkdtempSync(join(tmpdir(), 'gitbus-rt-'));
      for (const [node, home] of [['alpha', '/home/ada/.gitbus'], ['odd_1', ODD]] as const) {
        const file = join(dir, systemdUnitName(node));
        writeFileSync(file, renderSystemdUnit({ node, home, nodePath: NODE, entry: ENTRY }));
        const r = spawnSync('systemd-analyze', ['--user', 'verify', file], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, XDG_RUNTIME_DIR: runtime } });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stderr).toBe('');
      }
      rmSync(runtime, { recursive: true, force: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses paths a unit file cannot hold', () => {
    expect(() => renderSystemdUnit({ node: 'a', home: '/tmp/a\nb', nodePath: NODE, entry: ENTRY })).toThrow(expect.objectContaining({ code: 'SERVICE_BAD_PATH' }));
    expect(() => renderSystemdUnit({ node: 'a', home: '/tmp/trailing ', nodePath: NODE, entry: ENTRY })).toThrow(expect.objectContaining({ code: 'SERVICE_BAD_PATH' }));
    // A trailing backslash continues the line: WorkingDirectory= would take the next setting into the path.
    expect(() => renderSystemdUnit({ node: 'a', home: '/tmp/h3\\', nodePath: NODE, entry: ENTRY })).toThrow(expect.objectContaining({ code: 'SERVICE_BAD_PATH', message: expect.stringContaining('ends in a backslash') }));
    expect(() => renderLaunchdPlist({ node: 'a', home: '/tmp/a\u0001', nodePath: NODE, entry: ENTRY })).toThrow(expect.objectContaining({ code: 'SERVICE_BAD_PATH' }));
  });
});

describe('launchd plist', () => {
  it('has the label, the watcher argv, the environment, restart on crash, run at load and the log file', () => {
    const xml = renderLaunchdPlist({ node: 'mini', home: '/Users/ada/.gitbus', nodePath: '/opt/homebrew/bin/node', entry: ENTRY });
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist')).toBe(true);
    expect(xml).toContain('<key>Label</key>\n  <string>dev.gitbus.watch.mini</string>');
    const args = /<key>ProgramArguments<\/key>\s*<array>([\s\S]*?)<\/array>/.exec(xml)?.[1] ?? '';
    expect(plistStrings(args)).toEqual(['/opt/homebrew/bin/node', ENTRY, 'watch', '--home', '/Users/ada/.gitbus']);
    expect(xml).toMatch(/<key>RunAtLoad<\/key>\s*<true\/>/);
    expect(xml).toMatch(/<key>KeepAlive<\/key>\s*<dict>\s*<key>SuccessfulExit<\/key>\s*<false\/>/);
    expect(xml).toMatch(new RegExp(`<key>ExitTimeOut</key>\\s*<integer>${stopTimeoutSeconds()}</integer>`));
    expect(xml).toMatch(/<key>StandardOutPath<\/key>\s*<string>\/Users\/ada\/\.gitbus\/logs\/watcher\.log<\/string>/);
    expect(xml).toMatch(/<key>StandardErrorPath<\/key>\s*<string>\/Users\/ada\/\.gitbus\/logs\/watcher\.log<\/string>/);
    expect(xml).toMatch(/<key>GITBUS_HOME<\/key>\s*<string>\/Users\/ada\/\.gitbus<\/string>/);
    expect(xml).toMatch(/<key>PATH<\/key>\s*<string>\/opt\/homebrew\/bin:\/usr\/local\/bin:\/usr\/bin:\/bin<\/string>/);
    expect(xml).toMatch(/<key>WorkingDirectory<\/key>\s*<string>\/Users\/ada\/\.gitbus<\/string>/);
  });

  it('XML-escapes odd paths: no raw & < > inside elements, and they decode to the same argv', () => {
    const xml = renderLaunchdPlist({ node: 'alpha', home: ODD, nodePath: NODE, entry: `${ODD}/bin/gitbus.js` });
    const inner = xml.split('\n').filter((l) => l.includes('<string>'));
    for (const l of inner) expect(l.replace(/^\s*<string>/, '').replace(/<\/string>$/, '')).not.toMatch(/[<>]|&(?!(amp|lt|gt|quot|apos);)/);
    const args = /<key>ProgramArguments<\/key>\s*<array>([\s\S]*?)<\/array>/.exec(xml)?.[1] ?? '';
    expect(plistStrings(args)).toEqual([NODE, `${ODD}/bin/gitbus.js`, 'watch', '--home', ODD]);
    expect(xmlEscape(`a&b<c>"d'`)).toBe('a&amp;b&lt;c&gt;&quot;d&apos;');
  });

  it('is a property list Python\'s plistlib reads back (where python3 is installed)', () => {
    const xml = renderLaunchdPlist({ node: 'alpha', home: ODD, nodePath: NODE, entry: ENTRY });
    const r = spawnSync('python3', ['-c', 'import json, plistlib, sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'], { input: xml, encoding: 'utf8', timeout: 20_000 });
    if (r.error || r.status === null) return;
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      Label: 'dev.gitbus.watch.alpha',
      ProgramArguments: [NODE, ENTRY, 'watch', '--home', ODD],
      EnvironmentVariables: { GITBUS_HOME: ODD },
      WorkingDirectory: ODD,
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      StandardOutPath: `${ODD}/logs/watcher.log`,
      StandardErrorPath: `${ODD}/logs/watcher.log`,
    });
  });
});

describe('names per node', () => {
  it('each node (home) gets its own unit and LaunchAgent', () => {
    expect(systemdUnitName('gpu-box')).toBe('gitbus-watch-gpu-box.service');
    expect(systemdUnitName('pi_3')).toBe('gitbus-watch-pi_3.service');
    expect(journalCommand('pi_3')).toBe('journalctl --user -u gitbus-watch-pi_3.service');
    expect(launchdLabel('mini')).toBe('dev.gitbus.watch.mini');
    expect(launchdPlistName('mini')).toBe('dev.gitbus.watch.mini.plist');
    expect(launchdLogPath('/Users/ada/.gitbus/')).toBe('/Users/ada/.gitbus/logs/watcher.log');
    for (const bad of ['Gpu', 'a b', '../x', 'a/b', '']) {
      expect(() => systemdUnitName(bad)).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
      expect(() => launchdLabel(bad)).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
    }
  });

  it('puts units in the user folder, or in $GITBUS_SERVICE_DIR', () => {
    const a = serviceTarget('/h/a', 'alpha', { platform: 'linux', env: {}, userHome: '/home/ada' });
    const b = serviceTarget('/h/b', 'beta', { platform: 'linux', env: {}, userHome: '/home/ada' });
    expect(a.file).toBe('/home/ada/.config/systemd/user/gitbus-watch-alpha.service');
    expect(b.file).toBe('/home/ada/.config/systemd/user/gitbus-watch-beta.service');
    expect(a.logs.command).toContain('journalctl --user -u gitbus-watch-alpha.service');
    expect(serviceTarget('/h/a', 'alpha', { platform: 'linux', env: { XDG_CONFIG_HOME: '/cfg' }, userHome: '/home/ada' }).file).toBe('/cfg/systemd/user/gitbus-watch-alpha.service');
    expect(serviceTarget('/h/a', 'alpha', { platform: 'linux', env: { GITBUS_SERVICE_DIR: '/tmp/units' }, userHome: '/home/ada' })).toMatchObject({ file: '/tmp/units/gitbus-watch-alpha.service', standardDir: false });
    const mac = serviceTarget('/Users/ada/.gitbus', 'mini', { platform: 'darwin', env: {}, userHome: '/Users/ada' });
    expect(mac).toMatchObject({ manager: 'launchd', name: 'dev.gitbus.watch.mini', file: '/Users/ada/Library/LaunchAgents/dev.gitbus.watch.mini.plist', logs: { file: '/Users/ada/.gitbus/logs/watcher.log' } });
    expect(() => serviceTarget('/h', 'alpha', { platform: 'win32', env: {} })).toThrow(expect.objectContaining({ code: 'SERVICE_UNSUPPORTED_PLATFORM' }));
  });
});

describe('the service PATH', () => {
  const config = (runners: NodeConfig['runners'], claude?: NodeConfig['claude']) => ({ node: 'alpha', remote: '/r', labels: [], runners, parallel: 1, ...(claude ? { claude } : {}) }) as NodeConfig;

  it("is the node binary's folder, the installing PATH in order (absolute folders only), each runner's folder, then the system folders", () => {
    const dir = mkdtempSync(join(tmpdir(), 'gitbus-path-'));
    try {
      const bin = join(dir, 'bin');
      const tools = join(dir, 'tools');
      mkdirSync(bin);
      mkdirSync(tools);
      writeFileSync(join(bin, 'claude'), '#!/bin/sh\necho 1.0\n', { mode: 0o755 });
      writeFileSync(join(tools, 'my-claude'), '#!/bin/sh\necho 1.0\n', { mode: 0o755 });
      const plan = planServicePath('/opt/node/bin/node', config(['shell', 'claude']), { PATH: `.::relative:${bin}:/usr/bin:${bin}:/bin` });
      expect(plan.path).toBe(`/opt/node/bin:${bin}:/usr/bin:/bin:/usr/local/bin`);
      expect(plan.runners).toEqual([
        { runner: 'shell', binary: 'sh', found: expect.stringMatching(/\/sh$/) },
        { runner: 'claude', binary: 'claude', found: join(bin, 'claude') },
      ]);
      // An absolute claude.binary outside PATH: its folder is added.
      const abs = planServicePath('/opt/node/bin/node', config(['claude'], { binary: join(tools, 'my-claude') }), { PATH: '/usr/bin:/bin' });
      expect(abs.path.split(':')).toContain(tools);
      // $GITBUS_CLAUDE_BIN names the binary when node.yaml does not; a runner not found is reported, not invented.
      const missing = planServicePath('/opt/node/bin/node', config(['claude']), { PATH: '/usr/bin:/bin', GITBUS_CLAUDE_BIN: 'no-such-claude' });
      expect(missing.runners).toEqual([{ runner: 'claude', binary: 'no-such-claude', found: null }]);
      expect(whichOn('claude', `/nonexistent:${bin}`)).toBe(join(bin, 'claude'));
      expect(whichOn('claude', '/nonexistent')).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('drops PATH folders a unit or plist cannot hold', () => {
    expect(pathDirs('/a:/b\n:/c :/d:/a')).toEqual(['/a', '/d']);
  });

  it('is written into the unit and the plist and read back the same (odd folders included)', () => {
    const path = `/opt/node/bin:${ODD}/bin:/usr/bin:/bin`;
    const spec = { node: 'alpha', home: ODD, nodePath: NODE, entry: ENTRY, path, env: { GITBUS_CLAUDE_BIN: `${ODD}/claude` } };
    const unitEnv = systemdEnvironment(renderSystemdUnit(spec));
    expect(unitEnv).toEqual({ GITBUS_HOME: ODD, PATH: path, GITBUS_CLAUDE_BIN: `${ODD}/claude` });
    expect(launchdEnvironment(renderLaunchdPlist(spec))).toEqual({ GITBUS_HOME: ODD, PATH: path, GITBUS_CLAUDE_BIN: `${ODD}/claude` });
    expect(serviceEnvironment('systemd', '[Service]\nEnvironment=A=1 "B=two words"\nEnvironment=\nEnvironment=C=3\n')).toEqual({ C: '3' });
    expect(systemdEnvironment('[Service]\nEnvironment="A=unterminated\n')).toBeNull();
    expect(launchdEnvironment('<plist><dict><key>Label</key><string>x</string></dict></plist>')).toEqual({});
  });
});
