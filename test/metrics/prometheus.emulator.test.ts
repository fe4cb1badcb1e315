import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Sync, type S3Sync } from '../../src/index.ts';
import { instrument } from '../../src/metrics/index.ts';
import { type Emulator, startEmulator } from '../support/emulator.ts';
import { s3EventBody, sequencer } from '../support/s3-events.ts';
import { SyncRecorder } from '../support/sync-events.ts';

let emulator: Emulator;
let dir: string;
let server: Server | undefined;
let provider: MeterProvider | undefined;
let sync: S3Sync | undefined;

beforeAll(async () => {
  emulator = await startEmulator();
  dir = await mkdtemp(join(tmpdir(), 's3-sync-prometheus-'));
});
afterAll(async () => {
  await sync?.stop();
  await provider?.shutdown();
  if (server !== undefined) await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
  await emulator?.stop();
});

/** The value of the sample whose name and labels are given, from Prometheus text. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (match?.[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

describe('instrument', () => {
  it('is scraped in Prometheus text format through the OpenTelemetry Prometheus exporter', async () => {
    const bucket = emulator.uniqueName('registry');
    const queueName = emulator.uniqueName('replica');
    await emulator.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const { QueueUrl } = await emulator.sqs.send(new CreateQueueCommand({ QueueName: queueName }));
    const queueUrl = QueueUrl as string;

    const exporter = new PrometheusExporter({ preventServerStart: true });
    provider = new MeterProvider({ readers: [exporter] });
    server = createServer((request, response) => exporter.getMetricsRequestHandler(request, response));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    sync = createS3Sync({
      sqs: { client: emulator.sqs, queueUrl, waitTimeSeconds: 1, visibilityTimeout: 5 },
      s3: { client: emulator.s3 },
      target: join(dir, 'registry.json'),
      allow: { buckets: [bucket] },
      retry: false,
    });
    const events = new SyncRecorder(sync);
    instrument(sync, { meter: provider.getMeter('s3-sqs-sync'), queueUrl });
    await sync.start();

    const body = JSON.stringify({ release: 1 });
    const { ETag } = await emulator.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'v0/registry.json', Body: body }),
    );
    const processed = new Promise((resolve) => sync?.listener.once('message_processed', resolve));
    await emulator.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: s3EventBody({ bucket, key: 'v0/registry.json', eTag: ETag ?? '', sequencer: sequencer(1) }),
      }),
    );
    await events.next('update_applied');
    await processed;

    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();

    expect(
      sample(text, 's3_sync_updates_total', { s3_sync_outcome: 'applied', s3_sync_update_origin: 'message' }),
    ).toBe(1);
    expect(sample(text, 's3_sync_store_version')).toBe(1);
    expect(sample(text, 's3_sync_consecutive_failures')).toBe(0);
    expect(sample(text, 's3_sync_download_size_sum')).toBe(Buffer.byteLength(body));
    expect(sample(text, 's3_sync_download_size_count')).toBe(1);
    expect(sample(text, 's3_sync_download_duration_count')).toBe(1);
    expect(sample(text, 's3_sync_propagation_lag_count')).toBe(1);
    expect(sample(text, 's3_sync_handlers_in_flight')).toBeGreaterThanOrEqual(0);
    const messaging = { messaging_system: 'aws_sqs', messaging_destination_name: queueName };
    expect(
      sample(text, 'messaging_client_consumed_messages_total', { ...messaging, messaging_operation_name: 'receive' }),
    ).toBe(1);
    expect(
      sample(text, 'messaging_process_duration_count', { ...messaging, messaging_operation_name: 'process' }),
    ).toBe(1);
    expect(text).toMatch(/^# TYPE s3_sync_updates_total counter$/m);
    expect(text).toMatch(/^# TYPE messaging_process_duration histogram$/m);
  });
});
