import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';

/** A loopback endpoint that accepts connections and never answers: S3 or SQS stalled. */
export interface SilentServer {
  /** `http://127.0.0.1:<port>`, for an SDK client's `endpoint` or an `AWS_ENDPOINT_URL_*`. */
  readonly endpoint: string;
  /** Resolves at the first connection: a client is now waiting on it. */
  readonly connected: Promise<void>;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    // Reads each request, so the client's write completes, and never answers it.
    socket.resume();
  });
  const connected = once(server, 'connection').then(() => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    connected,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
