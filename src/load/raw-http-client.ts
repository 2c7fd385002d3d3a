import { connect, type Socket } from 'node:net';
import { HttpStatusError, UsageError } from '../errors.js';
import { Fifo, SlotPool } from './slot-pool.js';

/**
 * The `http` scenario's client for plain `http:` URLs: the request is built once as bytes and
 * written as is on keep-alive sockets, and responses are read by a small parser that looks
 * only at what a load generator needs (the status, the body's length or chunking, whether
 * the server closes). No per-request strings, header objects or handler objects: per request
 * there is one promise for the engine and the bytes the kernel reads. This is what
 * autocannon does, and it costs about a third less CPU per request than undici's general
 * client (see `bench load`). HTTPS and anything else undici does well stay with undici.
 */

export interface RawRequest {
  method: string;
  /** Path and query, e.g. `/v1/x?y=1`. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const CRLF = 0x0d;
const LF = 0x0a;
const HEADER_END = Buffer.from('\r\n\r\n');

/** The request's bytes, built once. Header names and values may not hold CR or LF (no injection). */
export function requestBytes(host: string, request: RawRequest): Buffer {
  const body = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8');
  let head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const [name, value] of Object.entries(request.headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new UsageError(`set header.${name}`, `header ${JSON.stringify(name)} must not contain CR or LF`);
    if (name === 'host' || name === 'content-length') continue;
    head += `${name}: ${value}\r\n`;
  }
  if (body) head += `content-length: ${body.length}\r\n`;
  head += '\r\n';
  return body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
}

type Done = (error: Error | undefined, status: number) => void;

const enum State {
  Head,
  Body,
  ChunkSize,
  ChunkData,
  Trailers,
}

/** Lower-cases an ASCII byte. */
const lower = (b: number) => b | 0x20;

/** Whether `buf[at..]` starts with `name` (lower-case ASCII) followed by ':', ignoring case. */
function headerIs(buf: Buffer, at: number, end: number, name: string): boolean {
  if (at + name.length >= end) return false;
  for (let i = 0; i < name.length; i++) if (lower(buf[at + i]) !== name.charCodeAt(i)) return false;
  return buf[at + name.length] === 0x3a;
}

/** A header's value, lower-cased and trimmed (only for the few headers that decide framing). */
function headerValue(buf: Buffer, nameEnd: number): string {
  const end = buf.indexOf(CRLF, nameEnd);
  return buf
    .toString('latin1', nameEnd + 1, end < 0 ? buf.length : end)
    .trim()
    .toLowerCase();
}

/** The first non-blank byte of a header's value. */
function valueStart(buf: Buffer, at: number): number {
  while (buf[at] === 0x20 || buf[at] === 0x09) at++;
  return at;
}

/**
 * One keep-alive connection and the parser of its responses, in order (pipelining keeps a
 * queue of callbacks). On a reset or a close, waiting requests fail and the next request
 * opens a new socket.
 */
class Connection {
  private socket: Socket | undefined;
  private readonly pending = new Fifo<Done>();
  private state = State.Head;
  private carry: Buffer | undefined;
  private status = 0;
  private remaining = 0;
  private closeAfter = false;
  /** The head just read was a 1xx interim answer. */
  private interim = false;
  private readonly noBody: boolean;

  constructor(
    private readonly port: number,
    private readonly host: string,
    private readonly bytes: Buffer,
    method: string,
  ) {
    this.noBody = method === 'HEAD';
  }

  get inFlight(): number {
    return this.pending.size;
  }

  send(done: Done): void {
    if (!this.socket) this.open();
    this.pending.push(done);
    this.socket!.write(this.bytes);
  }

  private open(): void {
    const socket = connect(this.port, this.host);
    socket.setNoDelay(true);
    // Only the current socket's bytes: one closed after `connection: close` may still deliver.
    socket.on('data', (chunk: Buffer) => {
      if (this.socket === socket) this.onData(chunk);
    });
    socket.on('error', () => undefined); // 'close' follows and fails what waits
    socket.on('close', () => this.onClose(socket));
    this.socket = socket;
    this.state = State.Head;
    this.carry = undefined;
  }

  private onClose(socket: Socket): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    // Only the requests sent on this socket are settled here: settling one may send the next
    // on a new socket, which must not be failed with this one.
    let stale = this.inFlight;
    if (this.state === State.Body && this.remaining === Number.POSITIVE_INFINITY && stale > 0) {
      // A body that runs to the end of the connection has just ended.
      this.state = State.Head;
      stale--;
      this.complete(undefined);
    }
    const error = Object.assign(new Error('the server closed the connection with requests waiting'), { code: 'ECONNRESET' });
    for (let i = 0; i < stale; i++) this.complete(error);
  }

  close(): void {
    this.socket?.destroy();
  }

  private complete(error: Error | undefined): void {
    this.pending.shift()!(error, this.status);
  }

  /**
   * A whole response has been read. Returns true when the server said it closes the
   * connection: the socket is dropped first (so that a request sent from the completion opens
   * a new one), and the rest of this socket's bytes must not be parsed.
   */
  private finishResponse(): boolean {
    this.state = State.Head;
    if (!this.closeAfter) {
      this.complete(undefined);
      return false;
    }
    const socket = this.socket;
    this.socket = undefined;
    socket?.end();
    // Requests pipelined on this socket behind the answered one were sent before the server
    // said it would close: they fail (the engine counts them), and the next ones reconnect.
    const stale = this.inFlight - 1;
    this.complete(undefined);
    const error = Object.assign(new Error('the server closed the connection (connection: close)'), { code: 'ECONNRESET' });
    for (let i = 0; i < stale; i++) this.complete(error);
    return true;
  }

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = undefined;
    }
    let at = 0;
    const end = buf.length;
    while (at < end) {
      switch (this.state) {
        case State.Head: {
          const headEnd = buf.indexOf(HEADER_END, at);
          if (headEnd < 0) {
            this.carry = buf.subarray(at);
            return;
          }
          if (this.inFlight === 0) {
            // A response nobody asked for: the stream is out of step; the next request starts
            // over on a new socket (this one is dropped first, so its close settles nothing).
            const socket = this.socket;
            this.socket = undefined;
            socket?.destroy();
            return;
          }
          this.parseHead(buf, at, headEnd);
          at = headEnd + 4;
          if (this.interim) break;
          if (this.state === State.Head && this.finishResponse()) return;
          break;
        }
        case State.Body: {
          const take = Math.min(this.remaining, end - at);
          this.remaining -= take;
          at += take;
          if (this.remaining === 0 && this.finishResponse()) return;
          break;
        }
        case State.ChunkSize: {
          const lineEnd = buf.indexOf(LF, at);
          if (lineEnd < 0) {
            this.carry = buf.subarray(at);
            return;
          }
          let size = 0;
          for (let i = at; i < lineEnd; i++) {
            const c = buf[i];
            const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : lower(c) >= 0x61 && lower(c) <= 0x66 ? lower(c) - 0x57 : -1;
            if (digit < 0) break; // CR, or a chunk extension
            size = size * 16 + digit;
          }
          at = lineEnd + 1;
          if (size === 0) this.state = State.Trailers;
          else {
            this.remaining = size + 2; // the data and the CRLF after it
            this.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, end - at);
          this.remaining -= take;
          at += take;
          if (this.remaining === 0) this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          // Either an empty line at once, or trailer lines ending with an empty line.
          if (buf[at] === CRLF && at + 1 < end && buf[at + 1] === LF) {
            at += 2;
            if (this.finishResponse()) return;
            break;
          }
          const trailersEnd = buf.indexOf(HEADER_END, at);
          if (trailersEnd < 0) {
            this.carry = buf.subarray(at);
            return;
          }
          at = trailersEnd + 4;
          if (this.finishResponse()) return;
          break;
        }
      }
    }
  }

  /** Reads the status and the headers that decide where the body ends; sets the next state. */
  private parseHead(buf: Buffer, start: number, headEnd: number): void {
    // "HTTP/1.1 200 OK": the status is the three digits after the first space.
    const space = buf.indexOf(0x20, start);
    this.status = (buf[space + 1] - 0x30) * 100 + (buf[space + 2] - 0x30) * 10 + (buf[space + 3] - 0x30);
    let length = -1;
    let chunked = false;
    let connection: 'close' | 'keep-alive' | undefined;
    let line = buf.indexOf(LF, start) + 1;
    while (line > 0 && line < headEnd) {
      const c = lower(buf[line]);
      if (c === 0x63 /* c */) {
        if (headerIs(buf, line, headEnd, 'content-length')) {
          length = 0;
          for (let i = valueStart(buf, line + 15); buf[i] >= 0x30 && buf[i] <= 0x39; i++) length = length * 10 + (buf[i] - 0x30);
        } else if (headerIs(buf, line, headEnd, 'connection')) {
          // A list of tokens: "keep-alive, close" closes too.
          const tokens = headerValue(buf, line + 10)
            .split(',')
            .map((t) => t.trim());
          if (tokens.includes('close')) connection = 'close';
          else if (tokens.includes('keep-alive')) connection = 'keep-alive';
        }
      } else if (c === 0x74 /* t */ && headerIs(buf, line, headEnd, 'transfer-encoding')) {
        // Chunked is the last coding when present.
        chunked =
          headerValue(buf, line + 17)
            .split(',')
            .at(-1)!
            .trim() === 'chunked';
      }
      line = buf.indexOf(LF, line) + 1;
    }
    // HTTP/1.0 closes unless it says keep-alive; HTTP/1.1 keeps alive unless it says close.
    const http10 = buf[start + 7] === 0x30; // "HTTP/1.0"
    this.closeAfter = connection === 'close' || (http10 && connection !== 'keep-alive');
    // An interim answer (100 Continue, 103 Early Hints) is not the response: the real one follows.
    this.interim = this.status >= 100 && this.status < 200 && this.status !== 101;
    const bodiless = this.interim || this.noBody || this.status === 204 || this.status === 304 || this.status === 101;
    if (bodiless) this.state = State.Head;
    else if (chunked) this.state = State.ChunkSize;
    else if (length > 0) {
      this.remaining = length;
      this.state = State.Body;
    } else if (length === 0) this.state = State.Head;
    else {
      // Neither: the body runs to the end of the connection. A load generator cannot reuse
      // that socket; it is read to its end and the request completes on close.
      this.remaining = Number.POSITIVE_INFINITY;
      this.state = State.Body;
      this.closeAfter = true;
    }
  }
}

interface Waiting {
  resolve: (status: number) => void;
  reject: (error: Error) => void;
}

/** A pool of raw connections (`pipelining` slots each). */
export class RawHttpClient {
  readonly origin: string;
  private readonly connections: Connection[] = [];
  private readonly slots = new SlotPool<Connection, Waiting>();
  private readonly url: string;

  constructor(url: string, request: RawRequest, options: { connections: number; pipelining?: number }) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:') throw new UsageError('set url', `the raw client speaks plain http only, got ${parsed.protocol}`);
    this.origin = parsed.origin;
    this.url = `${parsed.origin}${request.path}`;
    const port = Number(parsed.port || 80);
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    const bytes = requestBytes(parsed.host, request);
    const pipelining = options.pipelining ?? 1;
    for (let i = 0; i < options.connections; i++) {
      const connection = new Connection(port, host, bytes, request.method);
      this.connections.push(connection);
      for (let j = 0; j < pipelining; j++) this.slots.add(connection);
    }
  }

  /** One request; resolves with the status once the whole response has been read (4xx/5xx reject). */
  request(): Promise<number> {
    return new Promise((resolve, reject) => {
      const connection = this.slots.take();
      if (connection) this.send(connection, resolve, reject);
      else this.slots.wait({ resolve, reject });
    });
  }

  private send(connection: Connection, resolve: (status: number) => void, reject: (error: Error) => void): void {
    connection.send((error, status) => {
      const next = this.slots.release(connection);
      if (next) this.send(connection, next.resolve, next.reject);
      if (error) reject(error);
      else if (status >= 400) reject(new HttpStatusError(status, this.url));
      else resolve(status);
    });
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the client's close returns a promise, as the undici one's does
  async close(): Promise<void> {
    for (const connection of this.connections) connection.close();
  }
}
