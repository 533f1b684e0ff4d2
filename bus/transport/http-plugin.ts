import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { FLUSH_PKT, concatBytes, encodePktLine } from '../git/pkt-line.js';
import type { GitService, Transport } from './transport.js';

/**
 * The URL to hand isomorphic-git together with `httpPluginFor(transport)`. isomorphic-git refuses anything
 * but http(s) URLs; the plugin ignores scheme and host and routes by path suffix to the transport.
 */
export const TRANSPORT_URL = 'http://gitbus.transport/repo';

const SERVICES: readonly GitService[] = ['git-upload-pack', 'git-receive-pack'];

function isService(s: string | null): s is GitService {
  return s !== null && (SERVICES as readonly string[]).includes(s);
}

type RequestBody = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Uint8Array | undefined;

/** isomorphic-git passes request bodies as arrays of buffers (fetch, push) but declares an async iterator. */
async function collectBody(body: RequestBody): Promise<Uint8Array> {
  if (body === undefined) return new Uint8Array(0);
  if (body instanceof Uint8Array) return body;
  const chunks: Uint8Array[] = [];
  if (Symbol.asyncIterator in body) {
    for await (const c of body) chunks.push(c);
  } else {
    for (const c of body) chunks.push(c);
  }
  return concatBytes(chunks);
}

async function* once(data: Uint8Array): AsyncGenerator<Uint8Array, void, undefined> {
  yield data;
}

function respond(req: GitHttpRequest, statusCode: number, contentType: string, body: Uint8Array): GitHttpResponse {
  return {
    url: req.url,
    method: req.method ?? 'GET',
    statusCode,
    statusMessage: statusCode === 200 ? 'OK' : statusCode === 404 ? 'Not Found' : 'Method Not Allowed',
    // isomorphic-git compares `headers['content-type']` literally: the key must be lower case.
    headers: { 'content-type': contentType, 'content-length': String(body.length) },
    body: once(body),
  };
}

/**
 * isomorphic-git's `http` plugin carried over a Transport: what `git http-backend` does for smart HTTP, without
 * HTTP. `GET <url>/info/refs?service=X` answers with the service header and the advertisement, `POST <url>/X`
 * runs one stateless exchange. Transport errors are thrown, not turned into status codes, so callers see the
 * GitbusError (with its fix) instead of isomorphic-git's generic HttpError.
 */
export function httpPluginFor(transport: Transport): HttpClient {
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const url = new URL(req.url);
      const method = (req.method ?? 'GET').toUpperCase();
      const text = (s: string): Uint8Array => new TextEncoder().encode(s);

      if (url.pathname.endsWith('/info/refs')) {
        const service = url.searchParams.get('service');
        if (method !== 'GET') return respond(req, 405, 'text/plain', text('use GET for info/refs\n'));
        // Without ?service= this would be the dumb protocol, which we do not serve.
        if (!isService(service)) return respond(req, 404, 'text/plain', text(`unknown service ${String(service)}\n`));
        const advertisement = await transport.advertise(service);
        const body = concatBytes([encodePktLine(`# service=${service}\n`), FLUSH_PKT, advertisement]);
        return respond(req, 200, `application/x-${service}-advertisement`, body);
      }

      const service = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
      if (isService(service)) {
        if (method !== 'POST') return respond(req, 405, 'text/plain', text(`use POST for ${service}\n`));
        // Declared as AsyncIterableIterator by isomorphic-git's types; arrays arrive in practice.
        const input = await collectBody(req.body as RequestBody);
        const result = await transport.rpc(service, input);
        return respond(req, 200, `application/x-${service}-result`, result);
      }
      return respond(req, 404, 'text/plain', text(`no such endpoint ${url.pathname}\n`));
    },
  };
}
