/**
 * Baseline: a minimal node:http server answering the same bytes as the management point from
 * memory: the assignment list with its ETag, and 304 when If-None-Match matches. Run as its own
 * process: `node --import tsx static-http-server.ts PORT BODY_FILE ETAG`.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [portText = '0', bodyFile = '', etag = ''] = process.argv.slice(2);
const body = readFileSync(bodyFile);

const server = createServer((request, response) => {
  if (request.headers['if-none-match'] === etag) {
    response.writeHead(304, { etag, 'cache-control': 'no-cache' });
    response.end();
    return;
  }
  response.writeHead(200, {
    etag,
    'cache-control': 'no-cache',
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.byteLength,
  });
  response.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(portText), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ listening: true })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
