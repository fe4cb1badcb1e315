import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

/** How long requests still open at shutdown may take before their connections are closed. */
export const DRAIN_GRACE_MS = 2_000;

/**
 * Bounds the HTTP server's close. Nest closes the server after this hook and runs
 * `onApplicationShutdown` (the sync's `stop()`) only once it has closed; `server.close()` waits for
 * every connection with a request in progress, and Node no longer enforces request timeouts once it
 * is called, so one client holding a request open (a body that never ends, unfinished headers)
 * would hold the shutdown forever. `server.close()` closes only the connections idle when it is
 * called: from this hook on, every response says `Connection: close` and its connection closes
 * once it is sent, so the shutdown ends with the last response, and clients do not reuse a
 * connection about to be cut. What is still open after the grace is closed.
 */
@Injectable()
export class HttpDrain implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly #adapterHost: HttpAdapterHost;
  /** Responses not yet finished. */
  readonly #open = new Set<ServerResponse>();
  #closing = false;

  // Named in @Inject, not only as the parameter's type: a type-only import would leave Nest no token.
  constructor(@Inject(HttpAdapterHost) adapterHost: HttpAdapterHost) {
    this.#adapterHost = adapterHost;
  }

  onApplicationBootstrap(): void {
    this.#server()?.on('request', (_request: IncomingMessage, response: ServerResponse) => {
      if (this.#closing) response.shouldKeepAlive = false;
      this.#open.add(response);
      response.once('close', () => this.#open.delete(response));
    });
  }

  beforeApplicationShutdown(): void {
    const server = this.#server();
    if (server === undefined) return;
    this.#closing = true;
    // A response not yet sent says `Connection: close`, and its connection ends with it.
    for (const response of this.#open) if (!response.headersSent) response.shouldKeepAlive = false;
    server.closeIdleConnections();
    // Unref'd: once the server and the sync have closed, this timer must not keep the process alive.
    setTimeout(() => server.closeAllConnections(), DRAIN_GRACE_MS).unref();
  }

  /** An application context (no HTTP server) has no adapter. */
  #server(): Server | undefined {
    return this.#adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
  }
}
