import { UsageError } from '../../errors.js';
import { parseIntegerOption } from '../../units.js';
import { LoadHttpClient } from './http-client.js';
import { defineScenario } from './types.js';

interface HttpState {
  client: LoadHttpClient;
  path: string;
  method: string;
  body: string | undefined;
  headers: Record<string, string>;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Any URL: `--set url=http://127.0.0.1:8080/path --set method=POST --set body='{"a":1}'`. */
export const httpScenario = defineScenario<HttpState>({
  name: 'http',
  description: 'any URL, method and body (--set url=... method=... body=... header.NAME=...)',
  async setup({ settings, target }) {
    const url = settings.url ?? (target.kind === 'http' ? target.url : undefined);
    if (!url) throw new UsageError('set url', 'the http scenario needs a URL: --set url=http://host:port/path (or --target URL)');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError('set url', `url must be an absolute http(s) URL, got ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError('set url', `url must use http or https, got ${JSON.stringify(parsed.protocol)}`);
    const method = (settings.method ?? 'GET').toUpperCase();
    if (!METHODS.includes(method)) throw new UsageError('set method', `method must be one of ${METHODS.join(', ')}, got ${JSON.stringify(settings.method)}`);
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(settings)) if (key.startsWith('header.')) headers[key.slice('header.'.length).toLowerCase()] = value;
    if (settings.body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
    const connections = parseIntegerOption('set connections', settings.connections ?? '64', 1, 10_000);
    const pipelining = parseIntegerOption('set pipelining', settings.pipelining ?? '1', 1, 100);
    return { client: new LoadHttpClient(parsed.href, { connections, pipelining }), path: `${parsed.pathname}${parsed.search}`, method, body: settings.body, headers };
  },
  run: (state) => state.client.request(state.path, { method: state.method, body: state.body, headers: state.headers }),
  teardown: (state) => state.client.close(),
});
