import { Pool } from 'undici';
import { AgentperfError } from '../../errors.ts';

/** A response status the load counts as an error: typed `http_<status>` like upstream errors. */
export class HttpStatusError extends AgentperfError {
  readonly status: number;

  constructor(status: number, url: string) {
    super(`http_${status}`, `${url} answered ${status}`);
    this.status = status;
  }
}

/**
 * The load engine's HTTP client: one undici pool per origin, keep-alive connections, bodies
 * drained so sockets are reused. A status of 400 or more throws HttpStatusError.
 */
export class LoadHttpClient {
  private readonly pool: Pool;
  readonly origin: string;

  constructor(url: string, options: { connections: number; pipelining?: number }) {
    const parsed = new URL(url);
    this.origin = parsed.origin;
    this.pool = new Pool(this.origin, { connections: options.connections, pipelining: options.pipelining ?? 1, keepAliveTimeout: 30_000 });
  }

  async request(path: string, init: { method: string; body?: string; headers?: Record<string, string> }): Promise<number> {
    const response = await this.pool.request({ path, method: init.method as 'GET', body: init.body, headers: init.headers });
    await response.body.dump();
    if (response.statusCode >= 400) throw new HttpStatusError(response.statusCode, `${this.origin}${path}`);
    return response.statusCode;
  }

  /** Like request, but returns the parsed JSON body (for setup steps that read answers). */
  async json(path: string, init: { method: string; body?: string; headers?: Record<string, string> }): Promise<unknown> {
    const response = await this.pool.request({ path, method: init.method as 'GET', body: init.body, headers: init.headers });
    if (response.statusCode >= 400) {
      await response.body.dump();
      throw new HttpStatusError(response.statusCode, `${this.origin}${path}`);
    }
    return response.body.json();
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
