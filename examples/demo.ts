/**
 * `npm run demo`: two replicas of the Express registry example, each on its own SQS queue
 * subscribed to one SNS topic, kept in step with one object in S3 by `createS3Sync`. Everything runs
 * in this process against the fauxqs emulator on 127.0.0.1: no AWS account, nothing to install.
 *
 * Each step prints what happened and how long it took, and checks it over real HTTP. The process
 * exits 0 when every step passed, else 1 with `FAILED at step "<name>": <reason>`.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { createReplicaQueue, type ReplicaQueue, type S3Sync, type S3SyncHealth } from 's3-sqs-sync';
import type { Registry } from './express-registry/registry.ts';
import { type RegistryServer, startRegistry } from './express-registry/server.ts';

// Each step's time limit; DEMO_STEP_TIMEOUT_MS raises it on a slow machine.
const STEP_TIMEOUT_MS = Number(process.env.DEMO_STEP_TIMEOUT_MS) || 10_000;
const BUCKET = 'mcp-registry-demo';
const KEY = 'v0/registry.json';
const REPLICAS = ['a', 'b'] as const;

const started = performance.now();
const elapsed = (since: number) => Math.round(performance.now() - since);
const print = (line: string) => process.stdout.write(`${line}\n`);

class StepFailure extends Error {
  readonly step: string;
  constructor(step: string, reason: string) {
    super(reason);
    this.step = step;
  }
}

let stepCount = 0;
/** Steps that hit their time limit and were told to stop, not yet settled: cleanup waits for them. */
const abandoned: Promise<unknown>[] = [];
/** Set once cleanup has begun: a step still running must not start anything after that. */
const shutdown = new AbortController();

/**
 * Runs one step within STEP_TIMEOUT_MS and prints `ok <name> <detail> (<ms> ms)`. On a timeout the
 * step's signal is aborted and the step is kept in `abandoned`: it may still be starting replicas,
 * and cleanup must close those too, so it waits for the step to settle first.
 */
async function step(name: string, run: (signal: AbortSignal) => Promise<string>): Promise<void> {
  const start = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
  });
  const running = run(AbortSignal.any([controller.signal, shutdown.signal]));
  try {
    const detail = await Promise.race([running, timeout]);
    stepCount++;
    print(`  ok ${`${elapsed(start)} ms`.padStart(8)}  ${name.padEnd(27)} ${detail}`);
  } catch (error) {
    controller.abort();
    abandoned.push(running.catch(() => {}));
    throw new StepFailure(name, error instanceof Error ? error.message : String(error));
  } finally {
    clearTimeout(timer);
  }
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

interface Replica {
  readonly name: string;
  readonly queue: ReplicaQueue;
  readonly registry: RegistryServer;
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

async function servedNames(replica: Replica): Promise<string[]> {
  const { status, body } = await getJson(`${replica.registry.url}/v0/servers?limit=100`);
  check(status === 200, `replica ${replica.name}: GET /v0/servers answered ${status}`);
  return (body as Registry).servers.map((entry) => entry.server.name);
}

async function health(replica: Replica): Promise<{ status: number; body: S3SyncHealth }> {
  const { status, body } = await getJson(`${replica.registry.url}/health`);
  return { status, body: body as S3SyncHealth };
}

type Outcome = { readonly applied: boolean; readonly ms: number; readonly reason?: string };

/** The next update this replica applies or refuses, and when (ms after `since`). */
function nextOutcome(sync: S3Sync<Registry>, since: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const applied = () => {
      sync.off('update_failed', failed);
      resolve({ applied: true, ms: elapsed(since) });
    };
    const failed = (error: Error) => {
      sync.off('update_applied', applied);
      const cause = error.cause instanceof Error ? error.cause : error;
      resolve({
        applied: false,
        ms: elapsed(since),
        reason: `${(cause as { code?: string }).code}: ${cause.message}`,
      });
    };
    sync.once('update_applied', applied);
    sync.once('update_failed', failed);
  });
}

const dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-demo-'));
const emulator = buildApp({ logger: false });
const replicas: Replica[] = [];
const clients: { destroy(): void }[] = [];
let failure: StepFailure | undefined;

print('s3-sqs-sync demo: S3 → SNS topic → one SQS queue per replica → createS3Sync → Express registry (2 replicas)');
try {
  let endpoint = '';
  await step('start the emulator', async () => {
    await emulator.listen({ host: '127.0.0.1', port: 0 });
    endpoint = `http://127.0.0.1:${(emulator.server.address() as { port: number }).port}`;
    return `fauxqs (S3, SQS, SNS) on ${endpoint}`;
  });
  const config = {
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' },
  };
  const s3 = new S3Client(config);
  const sqs = new SQSClient(config);
  const sns = new SNSClient(config);
  clients.push(s3, sqs, sns);

  let topicArn = '';
  await step('create bucket and topic', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    topicArn = (await sns.send(new CreateTopicCommand({ Name: 'registry-changes' }))).TopicArn ?? '';
    return `bucket ${BUCKET}, topic ${topicArn}`;
  });

  const queues: ReplicaQueue[] = [];
  await step('create a queue per replica', async () => {
    for (const name of REPLICAS) {
      queues.push(await createReplicaQueue({ sqs, sns, topicArn, replicaId: `demo-${name}`, heartbeatIntervalMs: 0 }));
    }
    return `${queues.map((queue) => queue.queueName).join(', ')} (createReplicaQueue), each subscribed to the topic`;
  });

  await step('start 2 replicas', async (signal) => {
    for (const [i, name] of REPLICAS.entries()) {
      const queue = queues[i] as ReplicaQueue;
      // The variables the Go registry reads; the clients are passed in because they point at the
      // emulator (a deployment sets AWS_ENDPOINT_URL_S3 / _SQS or nothing at all instead).
      const env = {
        MCP_REGISTRY_SQS_ENABLED: 'true',
        MCP_REGISTRY_SQS_QUEUE_URL: queue.queueUrl,
        MCP_REGISTRY_JSON_FILE_PATH: join(dir, `replica-${name}`, 'registry.json'),
        MCP_REGISTRY_S3_ALLOWED_BUCKETS: BUCKET,
        MCP_REGISTRY_S3_ALLOWED_KEY_PREFIXES: 'v0/',
        MCP_REGISTRY_SQS_WAIT_TIME_SECONDS: '1',
        PORT: '0',
      };
      if (signal.aborted) throw new Error('stopped before every replica started');
      const registry = await startRegistry({ env, s3, sqs, log: () => {} });
      // Recorded before anything else: whatever happens next, cleanup closes it.
      replicas.push({ name, queue, registry });
      if (signal.aborted) {
        // Cleanup may be over already (it waits for this step only so long): close it here too.
        await registry.close();
        throw new Error('stopped before every replica started');
      }
      await registry.ready;
    }
    for (const replica of replicas) {
      const { status, body } = await health(replica);
      check(status === 503 && body.state === 'starting', `replica ${replica.name}: /health ${status} ${body.state}`);
    }
    return `${replicas.map((replica) => `${replica.name} ${replica.registry.url}`).join(', ')}; /health 503 starting (no data yet)`;
  });

  const sample = JSON.parse(
    await readFile(new URL('../test/fixtures/registry-v0-sample.json', import.meta.url), 'utf8'),
  ) as Registry;
  const release = (n: number): Registry => ({
    ...sample,
    servers: [
      ...sample.servers,
      ...Array.from({ length: n - 1 }, (_, i) => ({
        server: { name: `io.example/demo-server-${i + 2}`, version: '1.0.0' },
      })),
    ],
  });
  let sequencer = 0;
  /** Uploads `body` and announces it through the topic, as S3 → SNS does (the emulator sends no events). */
  const publish = async (body: string): Promise<void> => {
    const { ETag = '' } = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: body }));
    const object = {
      key: KEY,
      size: Buffer.byteLength(body),
      eTag: ETag.replaceAll('"', ''),
      sequencer: (++sequencer).toString(16).padStart(16, '0'),
    };
    const record = {
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      eventTime: new Date().toISOString(),
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: BUCKET }, object },
    };
    await sns.send(new PublishCommand({ TopicArn: topicArn, Message: JSON.stringify({ Records: [record] }) }));
  };
  /** Publishes release `n` and waits until both replicas serve it over HTTP. */
  const publishRelease = async (n: number): Promise<string> => {
    const data = release(n);
    // Taken before the upload: a replica may apply it before `publish` returns.
    const since = performance.now();
    const outcomes = Promise.all(
      replicas.map((replica) => nextOutcome(replica.registry.sync as S3Sync<Registry>, since)),
    );
    await publish(JSON.stringify(data));
    const results = await outcomes;
    for (const [i, result] of results.entries())
      check(result.applied, `replica ${REPLICAS[i]} refused v${n}: ${result.reason}`);
    const expected = data.servers.map((entry) => entry.server.name);
    for (const replica of replicas) {
      const names = await servedNames(replica);
      check(
        JSON.stringify(names) === JSON.stringify(expected),
        `replica ${replica.name} serves ${names.length} servers, expected ${expected.length}`,
      );
      const { status, body } = await health(replica);
      check(status === 200 && body.state === 'ready', `replica ${replica.name}: /health ${status} ${body.state}`);
    }
    const slowest = Math.max(...results.map((result) => result.ms));
    const each = results.map((result, i) => `${REPLICAS[i]} ${result.ms} ms`).join(', ');
    return `v${n} (${expected.length} servers) uploaded, its event sent to the topic; both replicas serve it ${slowest} ms after the upload (${each}); /health 200 ready`;
  };

  await step('publish v1', () => publishRelease(1));
  await step('publish v2', () => publishRelease(2));

  await step('publish an invalid file', async () => {
    const since = performance.now();
    const outcomes = Promise.all(
      replicas.map((replica) => nextOutcome(replica.registry.sync as S3Sync<Registry>, since)),
    );
    await publish(JSON.stringify({ servers: [{ server: { description: 'a server without a name' } }] }));
    const results = await outcomes;
    for (const [i, result] of results.entries())
      check(!result.applied, `replica ${REPLICAS[i]} applied the invalid file`);
    const expected = release(2).servers.length;
    let reason = '';
    for (const replica of replicas) {
      const names = await servedNames(replica);
      check(
        names.length === expected,
        `replica ${replica.name} serves ${names.length} servers, expected v2's ${expected}`,
      );
      const { status, body } = await health(replica);
      check(status === 503 && body.state === 'degraded', `replica ${replica.name}: /health ${status} ${body.state}`);
      check(body.lastError !== undefined, `replica ${replica.name}: /health names no reason`);
      const cause = body.lastError.cause;
      reason = `${body.lastError.code}${cause === undefined ? '' : ` (${cause.code ?? cause.name}: ${cause.message})`}`;
    }
    return `a server without a name: refused by both in ${Math.max(...results.map((result) => result.ms))} ms; v2 still served; /health 503 degraded: ${reason}`;
  });

  await step('publish v3', async () => `recovered: ${await publishRelease(3)}`);

  await step('stop', async () => {
    await Promise.all(replicas.map((replica) => replica.registry.close()));
    await Promise.all(replicas.map((replica) => replica.queue.delete()));
    replicas.length = 0;
    for (const client of clients.splice(0)) client.destroy();
    await emulator.close();
    return 'replicas stopped (sync stopped, HTTP closed), queues deleted, emulator closed';
  });
} catch (error) {
  failure =
    error instanceof StepFailure
      ? error
      : new StepFailure('setup', error instanceof Error ? error.message : String(error));
} finally {
  // A step that timed out may still be running (starting a replica, say): stop it, and wait for it
  // so that what it started is in `replicas` before they are closed. Bounded: a step stuck on
  // something that never answers must not keep the demo from exiting.
  shutdown.abort();
  if (abandoned.length > 0) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(abandoned),
      new Promise((resolve) => {
        timer = setTimeout(resolve, STEP_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
  }
  // After a failure the resources are still open: release them all, whatever state they are in.
  await Promise.allSettled(replicas.map((replica) => replica.registry.close().then(() => replica.queue.delete())));
  for (const client of clients) client.destroy();
  await emulator.close().catch(() => {});
  await rm(dir, { recursive: true, force: true });
}

if (failure === undefined) {
  print(`demo passed: ${stepCount} steps in ${elapsed(started)} ms`);
} else {
  print(`FAILED at step "${failure.step}": ${failure.message}`);
  process.exitCode = 1;
}
