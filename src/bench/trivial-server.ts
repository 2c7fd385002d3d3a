// The trivial HTTP server `bench load` points both load generators at: a fixed 2-byte answer,
// so the figures measure the generators (and the kernel), not the server's work.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const server = http.createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
  response.end('ok');
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
