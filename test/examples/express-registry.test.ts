import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasSnapshotId, type Registry } from '../../examples/express-registry/registry.ts';
import { type RegistryServer, startRegistry } from '../../examples/express-registry/server.ts';
import { ConfigError, type S3SyncHealth } from '../../src/index.ts';
import { createQueue, type Emulator, sendMessages, startEmulator } from '../support/emulator.ts';
import { fixturePath } from '../support/fixtures.ts';
import { s3EventBody, sequencer } from '../support/s3-events.ts';

const KEY = 'v0/registry.json';
const ROOT = new URL('../../', import.meta.url).pathname;

let emulator: Emulator;
let bucket: string;
let dir: string;
let sample: Registry;
beforeAll(async () => {
  emulator = await startEmulator();
  bucket = emulator.uniqueName('registry');
  await emulator.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  dir = await mkdtemp(join(tmpdir(), 'express-registry-'));
  sample = JSON.parse(await readFile(fixturePath('registry-v0-sample.json'), 'utf8')) as Registry;
});
afterAll(async () => {
  await emulator?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The fixture with `extra` more servers, so each release is told apart by its size. */
const release = (extra: number): Registry => ({
  ...sample,
  servers: [
    ...sample.servers,
    ...Array.from({ length: extra }, (_, i) => ({ server: { name: `io.example/extra-${i}`, version: '1.0.0' } })),
  ],
});

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('examples/express-registry (in process, on the emulator)', () => {
  let queueUrl: string;
  let registry: RegistryServer;
  let seq = 0;
  const lines: string[] = [];
  beforeAll(async () => {
    queueUrl = (await createQueue(emulator)).url;
    registry = await startRegistry({
      env: {
        MCP_REGISTRY_SQS_ENABLED: 'true',
        MCP_REGISTRY_SQS_QUEUE_URL: queueUrl,
        MCP_REGISTRY_JSON_FILE_PATH: join(dir, 'in-process', 'registry.json'),
        MCP_REGISTRY_S3_ALLOWED_BUCKETS: bucket,
        MCP_REGISTRY_S3_ALLOWED_KEY_PREFIXES: 'v0/',
        MCP_REGISTRY_SQS_WAIT_TIME_SECONDS: '1',
        PORT: '0',
      },
      s3: emulator.s3,
      sqs: emulator.sqs,
      log: (line) => lines.push(line),
    });
    await registry.ready;
  });
  afterAll(async () => {
    await registry?.close();
  });

  /** Uploads `body`, sends its S3 event to the queue, and waits until the sync applied or refused it. */
  async function publish(body: string): Promise<'applied' | 'failed'> {
    const sync = registry.sync;
    if (sync === undefined) throw new Error('the registry runs without SQS');
    const outcome = new Promise<'applied' | 'failed'>((resolve) => {
      const applied = () => {
        sync.off('update_failed', failed);
        resolve('applied');
      };
      const failed = () => {
        sync.off('update_applied', applied);
        resolve('failed');
      };
      sync.once('update_applied', applied);
      sync.once('update_failed', failed);
    });
    const { ETag = '' } = await emulator.s3.send(new PutObjectCommand({ Bucket: bucket, Key: KEY, Body: body }));
    await sendMessages(emulator, queueUrl, [
      s3EventBody({ bucket, key: KEY, eTag: ETag, sequencer: sequencer(++seq) }),
    ]);
    return outcome;
  }

  const servers = (body: Record<string, unknown>) => (body.servers as Registry['servers']).map((e) => e.server.name);

  it('answers 503 on /health and the API until the first object is in, then 200', async () => {
    const starting = await get(`${registry.url}/health`);
    expect(starting.status).toBe(503);
    expect((starting.body as unknown as S3SyncHealth).state).toBe('starting');
    expect((await get(`${registry.url}/v0/servers`)).status).toBe(503);

    expect(await publish(JSON.stringify(release(0)))).toBe('applied');
    // The cursor id (a hash of the whole registry) is computed as the snapshot is published, so
    // the first listing request does not pay for it.
    expect(hasSnapshotId(registry.store.snapshot())).toBe(true);
    const ready = await get(`${registry.url}/health`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ state: 'ready', version: 1, consecutiveFailures: 0 });
    const list = await get(`${registry.url}/v0/servers`);
    expect(list.status).toBe(200);
    expect(list.body).toStrictEqual({ servers: sample.servers, metadata: { count: sample.servers.length } });
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^serving version 1: ${sample.servers.length} servers \\(etag ${JSON.stringify(registry.sync?.health().etag)}, \\d+ ms after the S3 event\\)$`,
      ),
    );
  });

  it('pages through every server with a cursor, in file order, each page with its count', async () => {
    expect(await publish(JSON.stringify(release(4)))).toBe('applied');
    const all = release(4).servers.map((entry) => entry.server.name);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const query = cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const { status, body } = await get(`${registry.url}/v0/servers?limit=3${query}`);
      expect(status).toBe(200);
      const metadata = body.metadata as { count: number; nextCursor?: string };
      expect(metadata.count).toBe(servers(body).length);
      seen.push(...servers(body));
      cursor = metadata.nextCursor;
      pages++;
    } while (cursor !== undefined);
    expect(seen).toStrictEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 3));
  });

  it('filters by a case-insensitive substring of the name, and keeps the filter in the cursor', async () => {
    const { body } = await get(`${registry.url}/v0/servers?search=EXTRA&limit=2`);
    expect(servers(body)).toStrictEqual(['io.example/extra-0', 'io.example/extra-1']);
    const { nextCursor } = body.metadata as { nextCursor: string };
    const next = await get(`${registry.url}/v0/servers?search=extra&limit=2&cursor=${nextCursor}`);
    expect(servers(next.body)).toStrictEqual(['io.example/extra-2', 'io.example/extra-3']);
    expect(next.body.metadata).toStrictEqual({ count: 2 });

    const otherSearch = await get(`${registry.url}/v0/servers?search=goreleaser&cursor=${nextCursor}`);
    expect(otherSearch.status).toBe(400);
    expect(otherSearch.body.error).toBe('cursor_mismatch');
    expect(servers((await get(`${registry.url}/v0/servers?search=nothing-like-this`)).body)).toStrictEqual([]);
  });

  it('refuses with 410 a cursor issued before the data changed, rather than shift the pages', async () => {
    const first = await get(`${registry.url}/v0/servers?limit=2`);
    const { nextCursor } = first.body.metadata as { nextCursor: string };
    const before = registry.store.snapshot().version;
    expect((await get(`${registry.url}/v0/servers?limit=2&cursor=${nextCursor}`)).status).toBe(200);

    expect(await publish(JSON.stringify(release(5)))).toBe('applied');
    const stale = await get(`${registry.url}/v0/servers?limit=2&cursor=${nextCursor}`);
    expect(stale.status).toBe(410);
    expect(stale.body).toMatchObject({
      error: 'cursor_expired',
      cursorVersion: before,
      currentVersion: before + 1,
    });
    expect(stale.body.message).toMatch(/List again without a cursor/);
  });

  it('answers 400 for a malformed cursor, a limit out of range or a repeated parameter', async () => {
    for (const [query, error] of [
      ['cursor=not-a-cursor', 'invalid_cursor'],
      [`cursor=${Buffer.from('{"id":1}').toString('base64url')}`, 'invalid_cursor'],
      ['limit=0', 'invalid_limit'],
      ['limit=101', 'invalid_limit'],
      ['limit=ten', 'invalid_limit'],
      ['limit=1&limit=1', 'invalid_query'],
      ['cursor=a&cursor=a', 'invalid_query'],
    ]) {
      const { status, body } = await get(`${registry.url}/v0/servers?${query}`);
      expect([query, status, body.error]).toStrictEqual([query, 400, error]);
    }
    // Cursors are not signed, so the service cannot tell "not issued here", only "malformed".
    expect((await get(`${registry.url}/v0/servers?cursor=not-a-cursor`)).body).toStrictEqual({
      error: 'invalid_cursor',
      message: 'cursor is malformed',
    });
  });

  it('finds a server by its URL-encoded name: the latest, or the version asked for, else 404', async () => {
    const name = 'com.joelverhagen.mcp/Knapcode.SampleMcpServer';
    const latest = await get(`${registry.url}/v0/servers/${encodeURIComponent(name)}`);
    expect(latest.status).toBe(200);
    expect(latest.body).toStrictEqual(sample.servers[1]);
    const older = await get(`${registry.url}/v0/servers/${encodeURIComponent(name)}?version=0.10.0-beta.10`);
    expect(older.body).toStrictEqual(sample.servers[0]);

    const missing = await get(`${registry.url}/v0/servers/${encodeURIComponent('io.example/missing')}`);
    expect(missing).toStrictEqual({
      status: 404,
      body: { error: 'not_found', message: 'no server "io.example/missing"' },
    });
    expect((await get(`${registry.url}/v0/servers/${encodeURIComponent(name)}?version=9.9.9`)).status).toBe(404);
    // A repeated version is refused, not read as one of the two.
    const twice = await get(
      `${registry.url}/v0/servers/${encodeURIComponent(name)}?version=0.10.0-beta.10&version=9.9.9`,
    );
    expect(twice).toStrictEqual({
      status: 400,
      body: { error: 'invalid_query', message: 'version given more than once' },
    });
    expect((await get(`${registry.url}/v1/anything`)).status).toBe(404);
    // A malformed escape: a JSON 400, not Express's HTML page with a stack trace.
    const malformed = await fetch(`${registry.url}/v0/servers/%E0%A4%A`);
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await malformed.json()).toStrictEqual({ error: 'bad_request', message: 'malformed request' });
  });

  it('reports 503 degraded with the reason after an invalid file, keeps serving, and recovers with the next', async () => {
    const served = servers((await get(`${registry.url}/v0/servers?limit=100`)).body);
    expect(await publish(JSON.stringify({ servers: [{ server: { description: 'no name' } }] }))).toBe('failed');

    const degraded = await get(`${registry.url}/health`);
    expect(degraded.status).toBe(503);
    // Still serving: ready for traffic (a readiness probe on /ready keeps the fleet in rotation).
    expect(await get(`${registry.url}/ready`)).toStrictEqual({ status: 200, body: { serving: true } });
    const health = degraded.body as unknown as S3SyncHealth;
    expect(health.state).toBe('degraded');
    expect(health.lastError?.code).toBe('ERR_VERIFY_FAILED');
    expect(health.lastError?.cause?.message).toMatch(/servers\.0\.server\.name/);
    expect(servers((await get(`${registry.url}/v0/servers?limit=100`)).body)).toStrictEqual(served);

    expect(await publish(JSON.stringify(release(6)))).toBe('applied');
    const recovered = await get(`${registry.url}/health`);
    expect(recovered.status).toBe(200);
    expect(recovered.body).toMatchObject({ state: 'ready', consecutiveFailures: 0 });
    expect(servers((await get(`${registry.url}/v0/servers?limit=100`)).body)).toHaveLength(sample.servers.length + 6);
  });
});

describe('examples/express-registry cursors across replicas and restarts', () => {
  it('honours, after a restart, a cursor another replica issued for the same data', async () => {
    const queues = [(await createQueue(emulator)).url, (await createQueue(emulator)).url] as const;
    const start = async (name: string, queueUrl: string) => {
      const started = await startRegistry({
        env: {
          MCP_REGISTRY_SQS_ENABLED: 'true',
          MCP_REGISTRY_SQS_QUEUE_URL: queueUrl,
          MCP_REGISTRY_JSON_FILE_PATH: join(dir, 'restart', name, 'registry.json'),
          MCP_REGISTRY_S3_ALLOWED_BUCKETS: bucket,
          MCP_REGISTRY_SQS_WAIT_TIME_SECONDS: '1',
          PORT: '0',
        },
        s3: emulator.s3,
        sqs: emulator.sqs,
        log: () => {},
      });
      await started.ready;
      return started;
    };
    let a = await start('a', queues[0]);
    const b = await start('b', queues[1]);
    try {
      const applied = (replica: RegistryServer) =>
        new Promise((resolve) => replica.sync?.once('update_applied', resolve));
      const key = 'restart/registry.json';
      const { ETag = '' } = await emulator.s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(release(6)) }),
      );
      const both = Promise.all([applied(a), applied(b)]);
      for (const queueUrl of queues) {
        await sendMessages(emulator, queueUrl, [s3EventBody({ bucket, key, eTag: ETag, sequencer: sequencer(1) })]);
      }
      await both;

      const first = await get(`${b.url}/v0/servers?limit=2`);
      const { nextCursor } = first.body.metadata as { nextCursor: string };
      const second = await get(`${b.url}/v0/servers?limit=2&cursor=${nextCursor}`);
      expect(second.status).toBe(200);
      expect((await get(`${a.url}/v0/servers?limit=2&cursor=${nextCursor}`)).body).toStrictEqual(second.body);

      // A restarts: it serves the same data, now read from its local file rather than from S3.
      await a.close();
      a = await start('a', queues[0]);
      expect(a.store.snapshot().source?.etag).toBeUndefined();
      expect(await get(`${a.url}/v0/servers?limit=2&cursor=${nextCursor}`)).toStrictEqual(second);
      const fromA = (await get(`${a.url}/v0/servers?limit=2`)).body.metadata as { nextCursor: string };
      expect(await get(`${b.url}/v0/servers?limit=2&cursor=${fromA.nextCursor}`)).toStrictEqual(second);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('examples/express-registry without SQS', () => {
  it('serves MCP_REGISTRY_JSON_FILE_PATH as it is when MCP_REGISTRY_SQS_ENABLED is off', async () => {
    const path = join(dir, 'static', 'registry.json');
    const registry = await startRegistry({
      env: { MCP_REGISTRY_JSON_FILE_PATH: path, PORT: '0' },
      log: () => {},
    });
    try {
      await expect(registry.ready).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    } finally {
      await registry.close();
    }
    await copyFile(fixturePath('registry-v0-sample.json'), path);
    const again = await startRegistry({ env: { MCP_REGISTRY_JSON_FILE_PATH: path, PORT: '0' }, log: () => {} });
    try {
      await again.ready;
      expect(again.sync).toBeUndefined();
      expect(await get(`${again.url}/health`)).toMatchObject({
        status: 200,
        body: { state: 'ready', sqs: 'disabled' },
      });
      expect((await get(`${again.url}/v0/servers`)).body.servers).toStrictEqual(sample.servers);
    } finally {
      await again.close();
    }
  });

  it('refuses a PORT that is not a port, naming the variable', async () => {
    await expect(
      startRegistry({ env: { MCP_REGISTRY_JSON_FILE_PATH: join(dir, 'x.json'), PORT: '80a' }, log: () => {} }),
    ).rejects.toThrow(ConfigError);
    await expect(
      startRegistry({ env: { MCP_REGISTRY_JSON_FILE_PATH: join(dir, 'x.json'), PORT: '70000' } }),
    ).rejects.toMatchObject({ code: 'ERR_CONFIG', variable: 'PORT' });
  });
});

/** Resolves with the first line of the child's stdout that matches, or rejects if it exits first. */
function waitForLine(child: ChildProcess, pattern: RegExp, output: string[]): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        output.push(line);
        const match = line.match(pattern);
        if (match !== null) {
          child.stdout?.off('data', onData);
          child.off('exit', onExit);
          resolve(match);
        }
      }
    };
    const onExit = (code: number | null) => reject(new Error(`exited (${code}) first:\n${output.join('\n')}`));
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('node examples/express-registry/server.ts', () => {
  it('starts from the environment alone, serves, and exits 0 on SIGTERM with its port closed', async () => {
    // The queue URL on the endpoint's own host, as AWS_ENDPOINT_URL_SQS names it: the SDK sends to the
    // queue URL's host, and the emulator's `sqs.<region>.localhost` names need no resolver here.
    const queueUrl = new URL(new URL((await createQueue(emulator)).url).pathname, emulator.endpoint).href;
    const { ETag = '' } = await emulator.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'child/registry.json', Body: JSON.stringify(sample) }),
    );
    const child = spawn(
      process.execPath,
      ['--import', './test/support/source-hooks.mjs', 'examples/express-registry/server.ts'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Only what the service reads: nothing of this machine's own AWS configuration leaks in.
        env: {
          PATH: process.env.PATH,
          AWS_ENDPOINT_URL_S3: emulator.endpoint,
          AWS_ENDPOINT_URL_SQS: emulator.endpoint,
          AWS_REGION: emulator.region,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          MCP_REGISTRY_SQS_ENABLED: 'true',
          MCP_REGISTRY_SQS_QUEUE_URL: queueUrl,
          MCP_REGISTRY_JSON_FILE_PATH: join(dir, 'child', 'registry.json'),
          MCP_REGISTRY_S3_URL: `s3://${bucket}/child/registry.json`,
          PORT: '0',
        },
      },
    );
    const stderr: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
    const output: string[] = [];
    try {
      const [, url = '', port = ''] = await waitForLine(
        child,
        /^registry listening on (http:\/\/127\.0\.0\.1:(\d+))/,
        output,
      );
      await waitForLine(child, /^ready: serving version 1$/, output);
      expect(output.join('\n')).toContain(`serving version 1: ${sample.servers.length} servers (etag ${ETag})`);
      expect(await get(`${url}/health`)).toMatchObject({ status: 200, body: { state: 'ready', version: 1 } });

      // An update told through the queue it found by MCP_REGISTRY_SQS_QUEUE_URL and AWS_ENDPOINT_URL_SQS.
      const v2 = await emulator.s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: 'child/registry.json', Body: JSON.stringify(release(1)) }),
      );
      const key = 'child/registry.json';
      await sendMessages(emulator, queueUrl, [
        s3EventBody({ bucket, key, eTag: v2.ETag ?? '', sequencer: sequencer(1) }),
      ]);
      await waitForLine(child, /^serving version 2: /, output);
      const list = await get(`${url}/v0/servers`);
      expect(list.body.metadata).toStrictEqual({ count: sample.servers.length + 1 });

      // A connection opened and left without a request (a load balancer's pre-opened socket)
      // must not hold the shutdown open.
      const idle = connect(Number(port), '127.0.0.1');
      await once(idle, 'connect');
      idle.on('error', () => {});
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      // A second signal while stopping (an impatient supervisor, or Ctrl-C twice) changes nothing:
      // the idle connection above holds the stop open for 2 s, so this one arrives mid-stop.
      await waitForLine(child, /^SIGTERM: stopping$/, output);
      child.kill('SIGTERM');
      const [code, signal] = (await Promise.race([
        exited,
        new Promise((_, reject) => setTimeout(() => reject(new Error('no exit within 5 s')), 5_000).unref()),
      ])) as [number | null, string | null];
      expect({ code, signal, stderr: stderr.join('') }).toStrictEqual({ code: 0, signal: null, stderr: '' });
      expect(await portIsClosed(Number(port))).toBe(true);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('addresses S3 path-style when only the SDK-wide AWS_ENDPOINT_URL names the endpoint', async () => {
    // `localhost`, not 127.0.0.1: the SDK addresses an IP path-style by itself, but would send to
    // `<bucket>.localhost` (which does not resolve) without forcePathStyle.
    const endpoint = `http://localhost:${emulator.port}`;
    const queueUrl = new URL(new URL((await createQueue(emulator)).url).pathname, endpoint).href;
    await emulator.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'global/registry.json', Body: JSON.stringify(sample) }),
    );
    const child = spawn(
      process.execPath,
      ['--import', './test/support/source-hooks.mjs', 'examples/express-registry/server.ts'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH,
          AWS_ENDPOINT_URL: endpoint,
          AWS_REGION: emulator.region,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          MCP_REGISTRY_SQS_ENABLED: 'true',
          MCP_REGISTRY_SQS_QUEUE_URL: queueUrl,
          MCP_REGISTRY_JSON_FILE_PATH: join(dir, 'global', 'registry.json'),
          MCP_REGISTRY_S3_URL: `s3://${bucket}/global/registry.json`,
          PORT: '0',
        },
      },
    );
    const stderr: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
    const output: string[] = [];
    try {
      const ready = await waitForLine(child, /^ready: serving version \d+$|^start-up failed: /, output).catch(
        (error: Error) => [error.message],
      );
      expect({ ready: ready[0], stderr: stderr.join('') }).toStrictEqual({
        ready: 'ready: serving version 1',
        stderr: '',
      });
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      expect(await exited).toStrictEqual([0, null]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
