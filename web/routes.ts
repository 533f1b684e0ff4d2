import { TASK_ID_RE } from '../schemas/ids.js';
import { GROUP_NAME_RE } from '../schemas/project.js';

/**
 * What a request path asks for. The pages are real paths served by one HTML shell (so a link can be opened,
 * bookmarked and reloaded); the client routes among them itself. Names in a path are checked against the
 * protocol's own rules before anything reads the bus with them. Pure.
 */
export type Route =
  /** `status`: the shell answers a page address that names nothing (a bad id) so, and the page says why. */
  | { kind: 'page'; status?: 400 | 404 }
  | { kind: 'asset'; name: string }
  | { kind: 'api'; what: 'fleet' | 'tasks' | 'problems' | 'events' }
  | { kind: 'api'; what: 'task' | 'output'; id: string }
  | { kind: 'api'; what: 'group'; name: string }
  | { kind: 'bad'; reason: string }
  /** A path under /api that names no endpoint: answered as the endpoints answer errors (JSON), not as a page. */
  | { kind: 'no-endpoint'; path: string }
  | { kind: 'none' };

/**
 * The path of a request target (origin-form `/a/b?q`, or absolute-form `http://host/a/b`), or null when it is not
 * one (`//[`, `http://[::1`): the path is taken as it is, never parsed as a URL that could have a host. Pure.
 */
export function requestPath(target: string): string | null {
  if (target.startsWith('/')) return target.replace(/[?#].*$/s, '');
  try {
    const url = new URL(target);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.pathname : null;
  } catch {
    return null;
  }
}

/** Whether a path is the API's (`/api`, `/api/...`): its answers, errors included, are JSON for scripts. Pure. */
export function isApiPath(pathname: string): boolean {
  return pathname === '/api' || pathname.startsWith('/api/');
}

const ASSET_RE = /^[a-z0-9][a-z0-9_-]*\.(html|css|js|svg|png)$/;

export function routeOf(pathname: string): Route {
  let parts: string[];
  try {
    parts = pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    // A page address a person typed or a link mangled gets a page, which says it names nothing; the API gets JSON.
    return /^\/(api|assets)\//.test(pathname) ? { kind: 'bad', reason: 'the path is not valid percent-encoding' } : { kind: 'page', status: 404 };
  }
  const [a, b, c, d] = parts;
  const n = parts.length;
  if (pathname === '/' || (n === 1 && (a === 'tasks' || a === 'problems'))) return { kind: 'page' };
  if (n === 2 && (a === 'task' || a === 'group') && b) return nameOk(a, b) ? { kind: 'page' } : { kind: 'page', status: 400 };
  if (n === 2 && a === 'assets' && b !== undefined) return ASSET_RE.test(b) ? { kind: 'asset', name: b } : { kind: 'none' };
  if (a !== 'api') return { kind: 'none' };
  if (n === 2 && (b === 'fleet' || b === 'tasks' || b === 'problems' || b === 'events')) return { kind: 'api', what: b };
  if ((n === 3 || (n === 4 && d === 'output')) && b === 'task' && c) return nameOk('task', c) ? { kind: 'api', what: n === 4 ? 'output' : 'task', id: c } : bad('task', c);
  if (n === 3 && b === 'group' && c) return nameOk('group', c) ? { kind: 'api', what: 'group', name: c } : bad('group', c);
  return { kind: 'no-endpoint', path: pathname };
}

function nameOk(kind: 'task' | 'group', name: string): boolean {
  return kind === 'task' ? TASK_ID_RE.test(name) : GROUP_NAME_RE.test(name);
}

function bad(kind: string, name: string): Route {
  return { kind: 'bad', reason: `${JSON.stringify(name.slice(0, 80))} is not a ${kind === 'task' ? 'task id' : 'group name'}` };
}

/** The content type of an asset by its extension (the only ones routeOf lets through). */
export function assetType(name: string): string {
  const ext = name.slice(name.lastIndexOf('.') + 1);
  switch (ext) {
    case 'html':
      return 'text/html; charset=utf-8';
    case 'css':
      return 'text/css; charset=utf-8';
    case 'js':
      return 'text/javascript; charset=utf-8';
    case 'svg':
      return 'image/svg+xml';
    default:
      return 'image/png';
  }
}
