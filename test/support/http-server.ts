// A throwaway HTTP server on 127.0.0.1 that records what it was sent, for tests of clients that
// must survive misbehaving servers.
import { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse, createServer } from 'node:http';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export interface TestHttpServer {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  readonly origin: string;
  readonly requests: RecordedRequest[];
  /** Bytes received that never became a valid HTTP request (e.g. a TLS ClientHello). */
  readonly clientErrors: number;
  close(): Promise<void>;
}

export async function startHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestHttpServer> {
  const requests: RecordedRequest[] = [];
  let clientErrors = 0;
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  server.on('clientError', (_err, socket) => {
    clientErrors++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const host = `127.0.0.1:${port}`;
  return {
    host,
    origin: `http://${host}`,
    requests,
    get clientErrors() {
      return clientErrors;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Hanging handlers keep sockets open: cut them, or close() would wait forever.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
