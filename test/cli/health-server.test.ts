import type { AddressInfo } from 'node:net';
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
});
