import { request, type IncomingMessage } from 'node:http';
import { DownloadError } from '../agent-errors.js';

/** A download's status and streamed body. */
export interface OpenDownload {
  status: number;
  body: AsyncIterable<Uint8Array> | null;
  cancel(): Promise<void>;
}

/**
 * Opens a plain-HTTP content download with node:http. The agent streams content through it rather
 * than through fetch: fetch hands the body over as a web stream, one promise and one small copy
 * per chunk, and ran at about half the speed of node:http on the same download (docs/performance.md).
 * Failures before the status arrives, a silence longer than `idleTimeoutMs` and a body cut short
 * are ERR_DOWNLOAD (retried; an interrupted file resumes with a Range request).
 */
export function openHttpDownload(
  url: string,
  headers: Record<string, string>,
  options: { timeoutMs: number; idleTimeoutMs?: number },
): Promise<OpenDownload> {
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  return new Promise<OpenDownload>((resolve, reject) => {
    let answered = false;
    const req = request(url, { method: 'GET', headers, agent: false }, (response) => {
      answered = true;
      resolve({
        status: response.statusCode ?? 0,
        body: bodyOf(response, url, () => clearTimeout(deadline)),
        cancel: () => {
          clearTimeout(deadline);
          req.destroy();
          return Promise.resolve();
        },
      });
    });
    const deadline = setTimeout(() => {
      req.destroy(new DownloadError(`${url}: no complete answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    req.setTimeout(idleTimeoutMs, () => {
      req.destroy(new DownloadError(`${url}: the server sent nothing for ${idleTimeoutMs} ms`));
    });
    req.on('error', (error) => {
      if (answered) return; // reported by the body's iterator
      clearTimeout(deadline);
      reject(
        error instanceof DownloadError
          ? error
          : new DownloadError(`${url}: ${error.message}`, { cause: error }),
      );
    });
    req.end();
  });
}

async function* bodyOf(response: IncomingMessage, url: string, done: () => void): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of response) yield chunk as Buffer;
    if (!response.complete)
      throw new DownloadError(`${url}: the connection closed before the whole file arrived`);
  } catch (error) {
    if (error instanceof DownloadError) throw error;
    throw new DownloadError(`${url}: ${(error as Error).message}`, { cause: error });
  } finally {
    done();
    if (!response.complete) response.destroy();
  }
}
