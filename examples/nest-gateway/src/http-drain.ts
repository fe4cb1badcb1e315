import type { Server } from 'node:http';
import { type BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

/** How long requests still open at shutdown may take before their connections are closed. */
export const DRAIN_GRACE_MS = 2_000;

/**
 * Bounds the HTTP server's close. Nest closes the server after this hook and runs
 * `onApplicationShutdown` (the sync's `stop()`) only once it has closed; `server.close()` waits for
 * every connection with a request in progress, and Node no longer enforces request timeouts once it
 * is called, so one client holding a request open (a body that never ends, unfinished headers)
 * would hold the shutdown forever. Idle keep-alive connections are closed by `server.close()`.
 */
@Injectable()
export class HttpDrain implements BeforeApplicationShutdown {
  readonly #adapterHost: HttpAdapterHost;

  // Named in @Inject, not only as the parameter's type: a type-only import would leave Nest no token.
  constructor(@Inject(HttpAdapterHost) adapterHost: HttpAdapterHost) {
    this.#adapterHost = adapterHost;
  }

  beforeApplicationShutdown(): void {
    // An application context (no HTTP server) has no adapter.
    const server = this.#adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (server === undefined) return;
    // Unref'd: once the server and the sync have closed, this timer must not keep the process alive.
    setTimeout(() => server.closeAllConnections(), DRAIN_GRACE_MS).unref();
  }
}
