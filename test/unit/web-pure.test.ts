import { describe, expect, it } from 'vitest';
import { changedRefs } from '../../web/bus-changes.js';
import { assetType, isApiPath, requestPath, routeOf } from '../../web/routes.js';
import { allowedHosts, hostAllowed, viewUrl } from '../../web/security.js';

const machine = { hostname: 'Build-Box', addresses: ['127.0.0.1', '192.168.1.20', '::1', 'fe80::1'] };

describe('the web view: routes', () => {
  it('serves the shell for the pages and checks names against the protocol', () => {
    for (const p of ['/', '/tasks', '/problems', '/task/20261121-042933-k3f9qx', '/task/k3f9qx', '/group/release-1.2']) expect(routeOf(p), p).toEqual({ kind: 'page' });
    // A page address with a bad name is still a page (the shell, answered 400 or 404), which shows the API's error.
    expect(routeOf('/task/..%2Fetc')).toEqual({ kind: 'page', status: 400 });
    expect(routeOf('/task/-rf')).toEqual({ kind: 'page', status: 400 });
    expect(routeOf('/group/UPPER')).toEqual({ kind: 'page', status: 400 });
    expect(routeOf('/task/%E0%A4%A')).toEqual({ kind: 'page', status: 404 });
    expect(routeOf('/api/task/..%2Fetc')).toMatchObject({ kind: 'bad' });
    expect(routeOf('/api/task/%E0%A4%A')).toMatchObject({ kind: 'bad' });
    expect(routeOf('/tasks/')).toEqual({ kind: 'none' });
    expect(routeOf('/etc/passwd')).toEqual({ kind: 'none' });
  });

  it('takes the path of a request target as it is, and refuses one that is not a target', () => {
    expect(requestPath('/api/fleet?x=1#y')).toBe('/api/fleet');
    expect(requestPath('//[')).toBe('//[');
    expect(routeOf('//[')).toEqual({ kind: 'none' });
    expect(requestPath('http://127.0.0.1:7420/tasks?sort=id')).toBe('/tasks');
    for (const t of ['http://[::1', 'http://a:b', 'http://%zz/', '*', 'mailto:x@y', '']) expect(requestPath(t), t).toBeNull();
  });

  it('lets through only plain asset names', () => {
    expect(routeOf('/assets/app.js')).toEqual({ kind: 'asset', name: 'app.js' });
    expect(routeOf('/assets/..%2Fpackage.json')).toEqual({ kind: 'none' });
    expect(routeOf('/assets/.hidden.js')).toEqual({ kind: 'none' });
    expect(routeOf('/assets/a/b.js')).toEqual({ kind: 'none' });
    expect(assetType('app.js')).toBe('text/javascript; charset=utf-8');
    expect(assetType('app.css')).toBe('text/css; charset=utf-8');
  });

  it('maps the read-only API', () => {
    expect(routeOf('/api/fleet')).toEqual({ kind: 'api', what: 'fleet' });
    expect(routeOf('/api/events')).toEqual({ kind: 'api', what: 'events' });
    expect(routeOf('/api/task/abc')).toEqual({ kind: 'api', what: 'task', id: 'abc' });
    expect(routeOf('/api/task/abc/output')).toEqual({ kind: 'api', what: 'output', id: 'abc' });
    expect(routeOf('/api/group/g1')).toEqual({ kind: 'api', what: 'group', name: 'g1' });
    // A path under /api that names no endpoint is the API's to answer (as JSON), not a page's.
    for (const p of ['/api/task/abc/claim', '/api/nothing', '/api', '/api/', '/api/task/', '/api/fleet/x']) expect(routeOf(p), p).toEqual({ kind: 'no-endpoint', path: p });
    expect([isApiPath('/api'), isApiPath('/api/x'), isApiPath('/apis'), isApiPath('/tasks')]).toEqual([true, true, false, false]);
  });
});

describe('the web view: Host header (DNS rebinding)', () => {
  it('a loopback server answers to its loopback names and port only', () => {
    const ok = allowedHosts('127.0.0.1', 7420, machine);
    for (const h of ['127.0.0.1:7420', 'localhost:7420', 'LOCALHOST:7420', '[::1]:7420']) expect(hostAllowed(h, ok), h).toBe(true);
    for (const h of ['evil.example:7420', '127.0.0.1:80', '127.0.0.1', 'build-box:7420', '192.168.1.20:7420', undefined]) expect(hostAllowed(h, ok), String(h)).toBe(false);
  });

  it('a server on every interface also answers to the machine name and addresses', () => {
    const ok = allowedHosts('0.0.0.0', 8080, machine);
    for (const h of ['build-box:8080', '192.168.1.20:8080', '[fe80::1]:8080', 'localhost:8080']) expect(hostAllowed(h, ok), h).toBe(true);
    expect(hostAllowed('rebind.attacker.example:8080', ok)).toBe(false);
  });

  it('a named host answers to that name; port 80 also without the port', () => {
    const ok = allowedHosts('bus.lan', 80, machine);
    expect(hostAllowed('bus.lan', ok)).toBe(true);
    expect(hostAllowed('bus.lan:80', ok)).toBe(true);
    expect(hostAllowed('localhost:80', ok)).toBe(false);
  });

  it('gives the URL to open', () => {
    expect(viewUrl('127.0.0.1', 7420)).toBe('http://127.0.0.1:7420/');
    expect(viewUrl('0.0.0.0', 7420)).toBe('http://127.0.0.1:7420/');
    expect(viewUrl('::1', 7420)).toBe('http://[::1]:7420/');
  });
});

describe('the web view: what moved on the bus', () => {
  it('tells main from heartbeats, and which nodes beat', () => {
    const a = new Map([
      ['refs/heads/main', 'a1'],
      ['refs/gitbus/heartbeats/n1', 'h1'],
      ['refs/gitbus/heartbeats/n2', 'h2'],
    ]);
    expect(changedRefs(a, new Map(a))).toEqual({ main: false, nodes: [] });
    expect(changedRefs(a, new Map([...a, ['refs/heads/main', 'a2']]))).toEqual({ main: true, nodes: [] });
    const b = new Map([
      ['refs/heads/main', 'a1'],
      ['refs/gitbus/heartbeats/n2', 'h2b'],
      ['refs/gitbus/heartbeats/n3', 'h3'],
      ['refs/heads/archive', 'x'],
    ]);
    expect(changedRefs(a, b)).toEqual({ main: false, nodes: ['n1', 'n2', 'n3'] });
  });
});
