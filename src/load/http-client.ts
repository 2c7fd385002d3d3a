import { Client } from 'undici';
import { HttpStatusError } from '../errors.js';
import { SlotPool } from './slot-pool.js';

export { HttpStatusError };

interface RequestInit {
  method: string;
  body?: string;
  headers?: Record<string, string>;
}

interface Waiting {
  path: string;
  init: RequestInit;
  resolve: (status: number) => void;
  reject: (error: Error) => void;
}

/**
 * The load engine's undici client (for https, or `--set client=undici`): undici `Client`s (one
 * keep-alive connection each) in a SlotPool, bodies discarded. A status of 400 or more rejects
 * with HttpStatusError.
 */
export class LoadHttpClient {
  readonly origin: string;
  private readonly clients: Client[] = [];
  /** One slot per request a connection can take at once (`pipelining` per connection). */
  private readonly slots = new SlotPool<Client, Waiting>();

  constructor(url: string, options: { connections: number; pipelining?: number }) {
    this.origin = new URL(url).origin;
    const pipelining = options.pipelining ?? 1;
    for (let i = 0; i < options.connections; i++) {
      const client = new Client(this.origin, { pipelining, keepAliveTimeout: 30_000 });
      this.clients.push(client);
      for (let j = 0; j < pipelining; j++) this.slots.add(client);
    }
  }

  /** One request; resolves with the status once the whole response has arrived. */
  request(path: string, init: RequestInit): Promise<number> {
    return new Promise((resolve, reject) => {
      const client = this.slots.take();
      if (client) this.send(client, path, init, resolve, reject);
      else this.slots.wait({ path, init, resolve, reject });
    });
  }

  private send(client: Client, path: string, init: RequestInit, resolve: (status: number) => void, reject: (error: Error) => void): void {
    const handler = new DiscardingHandler(this, client, path, resolve, reject);
    client.dispatch({ path, method: init.method, body: init.body, headers: init.headers }, handler);
  }

  /** A connection's request ended: hand it the next waiting request, or free it. */
  release(client: Client): void {
    const next = this.slots.release(client);
    if (next) this.send(client, next.path, next.init, next.resolve, next.reject);
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

/**
 * Keeps the status, drops the body, reports once at the end. The classic handler interface
 * (onConnect, onHeaders, onData, onComplete, onError), which undici's clients check for when
 * dispatching directly.
 */
class DiscardingHandler {
  private status = 0;

  constructor(
    private readonly owner: LoadHttpClient,
    private readonly client: Client,
    private readonly path: string,
    private readonly resolve: (status: number) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  onConnect(): void {}

  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }

  onData(): boolean {
    return true;
  }

  onComplete(): void {
    this.owner.release(this.client);
    if (this.status >= 400) this.reject(new HttpStatusError(this.status, `${this.owner.origin}${this.path}`));
    else this.resolve(this.status);
  }

  onError(error: Error): void {
    this.owner.release(this.client);
    this.reject(error);
  }
}
