import { once } from 'node:events';
import { type AddressInfo, connect, type Socket } from 'node:net';
import type { S3Sync } from 's3-sqs-sync';
import { describe, expect, it } from 'vitest';
import { closeServer, healthStatus, readyStatus, startHealthServer } from '../../src/cli/health-server.ts';

/** Just what the health server reads of a sync. */
function fakeSync(state: string): S3Sync<unknown> {
  return { state, health: () => ({ state, version: 3, consecutiveFailures: 0 }) } as unknown as S3Sync<unknown>;
}

describe('the health server', () => {
  it('answers 501 on /metrics, naming the packages, when OpenTelemetry is not installed', async () => {
    const server = await startHealthServer({ sync: fakeSync('ready'), host: '127.0.0.1', port: 0 });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(501);
      expect(await metrics.text()).toMatch(/@opentelemetry\/sdk-metrics and @opentelemetry\/exporter-prometheus/);
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ state: 'ready', version: 3 });
    } finally {
      await closeServer(server);
    }
  });

  it.each([
    ['ready', 200, 200],
    ['degraded', 503, 200],
    ['starting', 503, 503],
    ['stopped', 503, 503],
  ])('maps %s to /health %i and /ready %i', (state, health, ready) => {
    expect(healthStatus(state)).toBe(health);
    expect(readyStatus(state)).toBe(ready);
  });
  it('closes a connection that never finishes its headers within the timeout plus one check', async () => {
    const server = await startHealthServer({
      sync: fakeSync('ready'),
      host: '127.0.0.1',
      port: 0,
      requestTimeoutMs: 300,
      connectionsCheckingIntervalMs: 100,
    });
    try {
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
      socket.on('error', () => {});
      await once(socket, 'connect');
      const started = Date.now();
      socket.write('GET /health HTTP/1.1\r\nX-a: b\r\n');
      // Keep trickling header bytes, as a slow client does, until the server gives up.
      const trickle = setInterval(() => socket.writable && socket.write('X-b: c\r\n'), 50);
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      await once(socket, 'close');
      clearInterval(trickle);
      // Node's default check interval (30 s) would hold it about a hundred times longer.
      expect(Date.now() - started).toBeLessThan(5000);
      expect(Buffer.concat(received).toString()).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await closeServer(server);
    }
  });

  it('refuses connections beyond maxConnections and serves again once they close', async () => {
    const server = await startHealthServer({ sync: fakeSync('ready'), host: '127.0.0.1', port: 0, maxConnections: 2 });
    const port = (server.address() as AddressInfo).port;
    const sockets: Socket[] = [];
    try {
      expect(server.maxConnections).toBe(2);
      for (let i = 0; i < 2; i++) {
        const socket = connect(port, '127.0.0.1');
        sockets.push(socket);
        await once(socket, 'connect');
      }
      const dropped = once(server, 'drop');
      const third = connect(port, '127.0.0.1');
      third.on('error', () => {});
      sockets.push(third);
      await Promise.all([dropped, once(third, 'close')]);
      for (const socket of sockets) socket.destroy();
      await Promise.all(sockets.slice(0, 2).map((s) => (s.closed ? undefined : once(s, 'close'))));
      // The server notices the closes asynchronously; a probe on a fresh connection gets through.
      await expect
        .poll(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status)
        .toBe(200);
    } finally {
      for (const socket of sockets) socket.destroy();
      await closeServer(server);
    }
  });

  it('validates its limits', async () => {
    await expect(
      startHealthServer({ sync: fakeSync('ready'), host: '127.0.0.1', port: 0, maxConnections: 0 }),
    ).rejects.toThrow(/maxConnections.*received 0/);
  });
});
