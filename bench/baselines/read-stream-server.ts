/**
 * Baseline: a plain node:http server sending one file with fs.createReadStream and its default
 * options, for any path. Run as its own process: `node --import tsx read-stream-server.ts PORT FILE`.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';

const [portText = '0', file = ''] = process.argv.slice(2);
const size = statSync(file).size;

const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  createReadStream(file).pipe(response);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(portText), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ listening: true })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
