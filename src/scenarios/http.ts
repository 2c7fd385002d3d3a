import { UsageError } from '../errors.js';
import { parseIntegerOption } from '../units.js';
import { LoadHttpClient } from '../load/http-client.js';
import { RawHttpClient } from '../load/raw-http-client.js';
import { defineScenario } from './types.js';

interface HttpState {
  /** One request; resolves with the status. */
  send: () => Promise<number>;
  close: () => Promise<void>;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Any URL: `--set url=http://127.0.0.1:8080/path --set method=POST --set body='{"a":1}'`. */
export const httpScenario = defineScenario<HttpState>({
  name: 'http',
  description: 'any URL, method and body (--set url=... method=... body=... header.NAME=... client=raw|undici)',
  // eslint-disable-next-line @typescript-eslint/require-await -- a scenario's setup returns a promise, and its refusals must reach the runner as rejections
  async setup({ settings, target }) {
    const url = settings.url ?? (target.kind === 'http' ? target.url : undefined);
    if (!url) throw new UsageError('set url', 'the http scenario needs a URL: --set url=http://host:port/path (or --target URL)');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError('set url', `url must be an absolute http(s) URL, got ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new UsageError('set url', `url must use http or https, got ${JSON.stringify(parsed.protocol)}`);
    const method = (settings.method ?? 'GET').toUpperCase();
    if (!METHODS.includes(method)) throw new UsageError('set method', `method must be one of ${METHODS.join(', ')}, got ${JSON.stringify(settings.method)}`);
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(settings)) if (key.startsWith('header.')) headers[key.slice('header.'.length).toLowerCase()] = value;
    if (settings.body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
    const connections = parseIntegerOption('set connections', settings.connections ?? '64', 1, 10_000);
    const pipelining = parseIntegerOption('set pipelining', settings.pipelining ?? '1', 1, 100);
    const request = { method, path: `${parsed.pathname}${parsed.search}`, body: settings.body, headers };
    // Plain http on raw sockets with the request prebuilt (the lean path); https through undici.
    // `--set client=undici` picks undici for http too (to compare, or for a server the raw
    // parser does not handle).
    const client = settings.client ?? (parsed.protocol === 'http:' ? 'raw' : 'undici');
    if (client !== 'raw' && client !== 'undici') throw new UsageError('set client', `client must be raw or undici, got ${JSON.stringify(client)}`);
    if (client === 'raw') {
      if (parsed.protocol !== 'http:') throw new UsageError('set client', 'client=raw speaks plain http only; https uses undici');
      const raw = new RawHttpClient(parsed.href, request, { connections, pipelining });
      return { send: () => raw.request(), close: () => raw.close() };
    }
    const pooled = new LoadHttpClient(parsed.href, { connections, pipelining });
    return { send: () => pooled.request(request.path, request), close: () => pooled.close() };
  },
  run: (state) => state.send(),
  teardown: (state) => state.close(),
});
