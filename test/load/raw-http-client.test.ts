import test from 'ava';
import fc from 'fast-check';
import http from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { RawHttpClient, requestBytes } from '../../src/load/raw-http-client.ts';

// The raw client against real servers: Node's own (every framing it produces) and a raw TCP
// server that answers with framings and TCP split points chosen by fast-check.

async function listen(server: http.Server | Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const close = (server: http.Server | Server) => new Promise((resolve) => server.close(resolve));

test('requestBytes builds the request once, with host and content-length, and refuses CR/LF in headers', (t) => {
  const bytes = requestBytes('127.0.0.1:8080', {
    method: 'POST',
    path: '/x?y=1',
    headers: { 'content-type': 'application/json', 'content-length': '999' },
    body: '{"é":1}',
  });
  t.is(bytes.toString('utf8'), 'POST /x?y=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncontent-type: application/json\r\ncontent-length: 8\r\n\r\n{"é":1}');
  t.throws(() => requestBytes('h', { method: 'GET', path: '/', headers: { 'x-a': 'b\r\nx-evil: 1' } }), { message: /must not contain CR or LF/ });
});

test("every framing Node's server produces: length, chunked, empty, HEAD, 204, 304, errors, connection: close, a large body", async (t) => {
  const server = http.createServer((request, response) => {
    const url = request.url!;
    if (url === '/length') response.end('hello');
    else if (url === '/chunked') {
      response.write('a'.repeat(10));
      response.write('b'.repeat(70_000));
      setImmediate(() => response.end('c'));
    } else if (url === '/empty') response.end();
    else if (url === '/204') response.writeHead(204).end();
    else if (url === '/304') response.writeHead(304).end();
    else if (url === '/404') response.writeHead(404).end('no');
    else if (url === '/close') response.writeHead(200, { connection: 'close' }).end('bye');
    else if (url === '/large') response.end(Buffer.alloc(3 * 1024 * 1024, 120));
    else response.end('ok');
  });
  const port = await listen(server);
  try {
    for (const path of ['/length', '/chunked', '/empty', '/204', '/304', '/close', '/large']) {
      for (const method of ['GET', 'HEAD']) {
        const client = new RawHttpClient(`http://127.0.0.1:${port}`, { method, path, headers: {} }, { connections: 2 });
        const statuses = await Promise.all(Array.from({ length: 12 }, () => client.request()));
        t.deepEqual(new Set(statuses), new Set([path === '/204' ? 204 : path === '/304' ? 304 : 200]), `${method} ${path}`);
        await client.close();
      }
    }
    const client = new RawHttpClient(`http://127.0.0.1:${port}`, { method: 'GET', path: '/404', headers: {} }, { connections: 1 });
    const error = await t.throwsAsync(client.request());
    t.is((error as { code?: string }).code, 'AP_ERR_HTTP_STATUS');
    t.is(await client.request().catch(() => 'rejected again'), 'rejected again');
    await client.close();
  } finally {
    await close(server);
  }
});

test('pipelining keeps responses in order; a server that resets fails the waiting requests and the next ones reconnect', async (t) => {
  let seen = 0;
  const server = http.createServer((request, response) => {
    seen++;
    if (seen === 5) {
      request.socket.destroy();
      return;
    }
    response.end(String(seen));
  });
  const port = await listen(server);
  try {
    const client = new RawHttpClient(`http://127.0.0.1:${port}`, { method: 'GET', path: '/', headers: {} }, { connections: 1, pipelining: 4 });
    const results = await Promise.allSettled(Array.from({ length: 16 }, () => client.request()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    t.true(failed.length >= 1);
    for (const f of failed) t.is((f.reason as { code?: string }).code, 'ECONNRESET');
    t.is(await client.request(), 200, 'a new connection after the reset');
    await client.close();
  } finally {
    await close(server);
  }
});

interface Framing {
  kind: 'length' | 'chunked' | 'until-close';
  body: number;
  chunks: number[];
  splits: number[];
  extraHeaders: boolean;
}

function responseFor(f: Framing): Buffer {
  const body = Buffer.alloc(f.body, 0x61);
  const extra = f.extraHeaders ? 'X-Long: ' + 'v'.repeat(300) + '\r\nContent-Type: text/plain\r\n' : '';
  if (f.kind === 'length') return Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\n${extra}Content-Length: ${f.body}\r\n\r\n`), body]);
  if (f.kind === 'until-close') return Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\n${extra}\r\n`), body]);
  const parts: Buffer[] = [Buffer.from(`HTTP/1.1 200 OK\r\n${extra}Transfer-Encoding: chunked\r\n\r\n`)];
  let left = f.body;
  for (const size of [...f.chunks, left]) {
    const take = Math.min(size, left);
    if (take <= 0) continue;
    parts.push(Buffer.from(`${take.toString(16)};ext=1\r\n`), body.subarray(0, take), Buffer.from('\r\n'));
    left -= take;
  }
  parts.push(Buffer.from('0\r\nX-Trailer: t\r\n\r\n'));
  return Buffer.concat(parts);
}

test('property: any framing split at any TCP boundaries reads as one whole response per request', async (t) => {
  let current: Framing | undefined;
  const server = createServer((socket: Socket) => {
    let buffered = '';
    socket.on('data', (d) => {
      buffered += d.toString('latin1');
      while (buffered.includes('\r\n\r\n')) {
        buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
        const bytes = responseFor(current!);
        // Written in pieces at the chosen split points, each its own TCP write.
        let at = 0;
        for (const split of [...current!.splits].sort((a, b) => a - b)) {
          const cut = Math.min(split, bytes.length);
          if (cut > at) socket.write(bytes.subarray(at, cut));
          at = Math.max(at, cut);
        }
        socket.write(bytes.subarray(at));
        if (current!.kind === 'until-close') socket.end();
      }
    });
    socket.on('error', () => undefined);
  });
  const port = await listen(server);
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          kind: fc.constantFrom('length', 'chunked', 'until-close'),
          body: fc.nat({ max: 5_000 }),
          chunks: fc.array(fc.integer({ min: 1, max: 2_000 }), { maxLength: 5 }),
          splits: fc.array(fc.nat({ max: 6_000 }), { maxLength: 6 }),
          extraHeaders: fc.boolean(),
        }) as fc.Arbitrary<Framing>,
        async (framing) => {
          current = framing;
          const client = new RawHttpClient(`http://127.0.0.1:${port}`, { method: 'GET', path: '/', headers: {} }, { connections: 1 });
          try {
            const rounds = framing.kind === 'until-close' ? 2 : 3;
            for (let i = 0; i < rounds; i++) if ((await client.request()) !== 200) return false;
            return true;
          } finally {
            await client.close();
          }
        },
      ),
      { numRuns: 150 },
    );
    t.pass();
  } finally {
    await close(server);
  }
});

test('the http scenario, raw and undici clients: the same requests reach the server, statuses judged alike', async (t) => {
  const { httpScenario } = await import('../../src/scenarios/http.ts');
  const { runLoadTest } = await import('../../src/load/run.ts');
  const { stagesOf } = await import('../../src/load/patterns.ts');
  const { rootLogger } = await import('../../src/logger.ts');
  const seen: string[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (d) => (body += d));
    request.on('end', () => {
      seen.push(`${request.method} ${request.url} ${String(request.headers['x-team'])} ${request.headers['content-type']} ${body}`);
      response.writeHead(request.url === '/fail' ? 503 : 200).end('ok');
    });
  });
  const port = await listen(server);
  try {
    for (const client of ['raw', 'undici']) {
      for (const path of ['/ok?q=1', '/fail']) {
        seen.length = 0;
        const { report } = await runLoadTest({
          scenario: httpScenario,
          context: {
            target: { kind: 'in-process' },
            settings: { url: `http://127.0.0.1:${port}${path}`, method: 'POST', body: '{"a":1}', 'header.X-Team': 'perf', client, connections: '4' },
            seed: 1,
            log: rootLogger,
          },
          shape: { kind: 'open', pattern: 'constant 200/s', stages: stagesOf({ kind: 'constant', rate: 200, durationMs: 500 }), maxInFlight: 100 },
          warmupMs: 0,
          drainTimeoutMs: 5_000,
          thresholds: [],
        });
        t.is(report.result.completed, 100, `${client} ${path}`);
        t.is(seen.length, 100);
        t.is(seen[0], `POST ${path} perf application/json {"a":1}`);
        t.is(report.result.errors, path === '/fail' ? 100 : 0);
        if (path === '/fail') t.deepEqual(Object.keys(report.result.errorsByType), ['http_503']);
      }
    }
  } finally {
    await close(server);
  }
});

test('interim answers (100 Continue, 103 Early Hints) are skipped; "keep-alive, close", HTTP/1.0 and a padded chunked coding are read right', async (t) => {
  const answers: Record<string, string> = {
    '/hints': 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    '/list': 'HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 2\r\n\r\nok',
    '/http10': 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok',
    '/padded': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked  \r\n\r\n2\r\nok\r\n0\r\n\r\n',
  };
  const server = createServer((socket) => {
    let buffered = '';
    socket.on('data', (d) => {
      buffered += d.toString('latin1');
      while (buffered.includes('\r\n\r\n')) {
        const path = buffered.split(' ')[1];
        buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
        socket.write(answers[path]);
        if (path !== '/hints' && path !== '/padded') socket.end();
      }
    });
    socket.on('error', () => undefined);
  });
  const port = await listen(server);
  try {
    for (const path of Object.keys(answers)) {
      const client = new RawHttpClient(`http://127.0.0.1:${port}`, { method: 'GET', path, headers: {} }, { connections: 1 });
      // Three in a row on one connection: a close must be seen, or the next one fails.
      for (let i = 0; i < 3; i++) t.is(await client.request(), 200, `${path} #${i}`);
      await client.close();
    }
  } finally {
    await close(server);
  }
});

test('a response nobody asked for does not crash the client; it reconnects', async (t) => {
  const server = createServer((socket) => {
    socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    socket.on('error', () => undefined);
  });
  const port = await listen(server);
  try {
    const client = new RawHttpClient(`http://127.0.0.1:${port}`, { method: 'GET', path: '/', headers: {} }, { connections: 1 });
    t.is(await client.request(), 200);
    t.is(await client.request(), 200);
    await client.close();
  } finally {
    await close(server);
  }
});
