import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createQueue, type Emulator, queueDepth, startEmulator } from '../support/emulator.ts';
import { s3EventBody, sequencer } from '../support/s3-events.ts';
import { type SilentServer, startSilentServer } from '../support/silent-server.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
// The example and both of its test files, against the library's TypeScript sources (a fresh clone
// has no dist/), with the example's decorator settings. The root tsconfig leaves out the example and
// the in-process test, which imports its decorated sources.
const TSCONFIG = join(ROOT, 'test/examples/nest-gateway.tsconfig.json');
const SOURCE_HOOKS = join(ROOT, 'test/support/source-hooks.mjs');
const KEY = 'gateway/routes.json';

/** A running example and everything it has printed, line by line. */
class Gateway {
  readonly lines: string[] = [];
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  readonly #child: ChildProcess;
  readonly #waiters: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = [];
  #pending = '';

  constructor(child: ChildProcess) {
    this.#child = child;
    this.exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const read = (chunk: Buffer) => {
      const lines = (this.#pending + chunk.toString('utf8')).split('\n');
      this.#pending = lines.pop() ?? '';
      for (const line of lines) {
        this.lines.push(line);
        for (const waiter of [...this.#waiters]) {
          const match = line.match(waiter.pattern);
          if (match !== null) {
            this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
            waiter.resolve(match);
          }
        }
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
  }

  /** The next line (from now) matching `pattern`; rejects, with the output, on exit or after `timeoutMs`. */
  next(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const output = () => this.lines.join('\n');
    let timer: NodeJS.Timeout | undefined;
    const line = new Promise<RegExpMatchArray>((resolve) => this.#waiters.push({ pattern, resolve }));
    const exit = this.exited.then(([code, signal]) => {
      throw new Error(`the gateway exited (${code ?? signal}) before printing ${pattern}:\n${output()}`);
    });
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no line matched ${pattern} in ${timeoutMs} ms:\n${output()}`)),
        timeoutMs,
      );
    });
    return Promise.race([line, exit, late]).finally(() => clearTimeout(timer));
  }

  kill(signal: NodeJS.Signals): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill(signal);
  }
}

function table(services: { name: string; prefix: string; upstream: string }[]): string {
  return JSON.stringify({ services });
}

describe('examples/nest-gateway (built with tsc, run as a child process)', () => {
  let emu: Emulator;
  let build: string;
  let bucket: string;

  beforeAll(async () => {
    emu = await startEmulator();
    build = await mkdtemp(join(tmpdir(), 'nest-gateway-'));
    // Decorators are not erasable syntax: Node's type stripping cannot run the example, tsc builds
    // it. A type error in the example or its tests fails here, with tsc's output.
    await promisify(execFile)(process.execPath, [TSC, '-p', TSCONFIG, '--outDir', build]).catch((error) => {
      throw new Error(`tsc failed:\n${error.stdout}${error.stderr}`);
    });
    // The output lives outside the repository: give it the package scope and the dependencies.
    await writeFile(join(build, 'package.json'), '{ "type": "module" }\n');
    await symlink(join(ROOT, 'node_modules'), join(build, 'node_modules'), 'dir');
    bucket = emu.uniqueName('gateway');
    await emu.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }, 90_000);

  // Runs after a failure or a timeout too: no process or directory outlives the test.
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  /** The example as main.ts runs it, configured as a deployment would be, plus `env`. */
  function spawnGateway(env: Record<string, string>): Gateway {
    const child = spawn(
      process.execPath,
      ['--import', SOURCE_HOOKS, join(build, 'examples/nest-gateway/src/main.js')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          // Only what the example reads: nothing of this machine's own AWS configuration leaks in.
          PATH: process.env.PATH,
          NO_COLOR: '1',
          PORT: '0',
          AWS_REGION: emu.region,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_ENDPOINT_URL_S3: emu.endpoint,
          AWS_ENDPOINT_URL_SQS: emu.endpoint,
          GATEWAY_SQS_ENABLED: 'true',
          GATEWAY_SQS_WAIT_TIME_SECONDS: '1',
          GATEWAY_S3_URL: `s3://${bucket}/${KEY}`,
          ...env,
        },
      },
    );
    const gateway = new Gateway(child);
    onTestFailed(() => {
      console.error(`the gateway's output:\n${gateway.lines.join('\n')}`);
    });
    cleanup.push(async () => {
      gateway.kill('SIGKILL');
      await gateway.exited;
    });
    return gateway;
  }

  /** An S3 that accepts connections and never answers, closed after the test. */
  async function blackhole(): Promise<SilentServer> {
    const silent = await startSilentServer();
    cleanup.push(() => silent.close());
    return silent;
  }

  /** The gateway's exit, or a failure naming `what` if it has not exited within `timeoutMs`. */
  function exitWithin(
    gateway: Gateway,
    timeoutMs: number,
    what: string,
  ): Promise<[number | null, NodeJS.Signals | null]> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running ${timeoutMs} ms after ${what}`)), timeoutMs);
    });
    return Promise.race([gateway.exited, late]).finally(() => clearTimeout(timer));
  }

  afterAll(async () => {
    await emu?.stop();
    if (build !== undefined) await rm(build, { recursive: true, force: true });
  });

  it('routes by the served table, switches on a new version, keeps it over a bad one, and exits 0 on SIGTERM', async () => {
    const queue = await createQueue(emu);
    const data = await mkdtemp(join(tmpdir(), 'nest-gateway-data-'));
    cleanup.push(() => rm(data, { recursive: true, force: true }));
    let sequence = 0;
    const publish = async (body: string) => {
      const { ETag = '' } = await emu.s3.send(new PutObjectCommand({ Bucket: bucket, Key: KEY, Body: body }));
      // The emulator sends no S3 notifications: send the event S3 would.
      const event = s3EventBody({ bucket, key: KEY, eTag: ETag, sequencer: sequencer(++sequence) });
      await emu.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: event }));
    };
    await emu.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: KEY,
        Body: table([
          { name: 'registry', prefix: '/registry', upstream: 'http://127.0.0.1:9001' },
          { name: 'auth', prefix: '/auth', upstream: 'http://127.0.0.1:9002/v1' },
        ]),
      }),
    );

    const gateway = spawnGateway({
      GATEWAY_SQS_QUEUE_URL: queue.url,
      GATEWAY_JSON_FILE_PATH: join(data, 'state', 'routes.json'), // created on start
    });
    const [, url] = await gateway.next(/listening on (http:\/\/127\.0\.0\.1:\d+)/);

    // onModuleInit awaited start(): the first request already has the table.
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ state: 'ready', version: 1 });
    let routed = await fetch(`${url}/gw/registry/v0/servers?limit=5`);
    expect(routed.status).toBe(200);
    expect(routed.headers.get('x-routing-table-version')).toBe('1');
    expect(await routed.json()).toStrictEqual({
      method: 'GET',
      path: '/registry/v0/servers',
      service: 'registry',
      upstream: 'http://127.0.0.1:9001',
      url: 'http://127.0.0.1:9001/v0/servers?limit=5',
      version: 1,
    });
    expect((await fetch(`${url}/gw/registryx`)).status).toBe(404);
    // Bodies are routed, not parsed: neither a large JSON body nor one that is not JSON is refused.
    for (const body of [JSON.stringify({ blob: 'x'.repeat(200_000) }), '{not json']) {
      routed = await fetch(`${url}/gw/registry/v0/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect({ status: routed.status, body: await routed.json() }).toMatchObject({
        status: 200,
        body: { method: 'POST', service: 'registry' },
      });
    }

    // A new table: registry moves, a longer prefix takes part of its paths. The next request uses it.
    const applied = gateway.next(/serving version 2\b/);
    await publish(
      table([
        { name: 'registry', prefix: '/registry', upstream: 'http://127.0.0.1:9101' },
        { name: 'registry-admin', prefix: '/registry/admin', upstream: 'http://127.0.0.1:9103' },
        { name: 'auth', prefix: '/auth', upstream: 'http://127.0.0.1:9002/v1' },
      ]),
    );
    await applied;
    routed = await fetch(`${url}/gw/registry/v0/servers`, { method: 'POST' });
    expect(routed.headers.get('x-routing-table-version')).toBe('2');
    expect(await routed.json()).toMatchObject({
      method: 'POST',
      service: 'registry',
      url: 'http://127.0.0.1:9101/v0/servers',
    });
    routed = await fetch(`${url}/gw/registry/admin/users`);
    expect(await routed.json()).toMatchObject({ service: 'registry-admin', url: 'http://127.0.0.1:9103/users' });
    const routes = await fetch(`${url}/routes`);
    expect(routes.headers.get('x-routing-table-version')).toBe('2');
    expect(((await routes.json()) as { services: unknown[] }).services).toHaveLength(3);

    // A table the validator refuses: the last good one is still served, and the replica stays in rotation.
    const refused = gateway.next(/update refused \(ERR_[A-Z_]+/);
    await publish(table([{ name: 'registry', prefix: 'registry', upstream: 'ftp://example.com' }]));
    await refused;
    const degraded = await fetch(`${url}/health`);
    expect(degraded.status).toBe(200);
    expect(await degraded.json()).toMatchObject({ state: 'degraded', version: 2, consecutiveFailures: 1 });
    routed = await fetch(`${url}/gw/auth/token`);
    expect(routed.headers.get('x-routing-table-version')).toBe('2');
    expect(await routed.json()).toMatchObject({ service: 'auth', url: 'http://127.0.0.1:9002/v1/token' });

    // SIGTERM: onApplicationShutdown awaits sync.stop(), which logs before the process exits 0.
    gateway.kill('SIGTERM');
    const [code, signal] = await gateway.exited;
    expect({ code, signal }).toStrictEqual({ code: 0, signal: null });
    const shutdown = gateway.lines.filter((line) => /\[S3Sync\] (stopping|stopped)/.test(line));
    expect(shutdown.map((line) => line.replace(/^.*\[S3Sync\] /, ''))).toStrictEqual([
      'stopping on SIGTERM',
      'stopped: no update running, messages settled',
    ]);
    expect(await queueDepth(emu, queue.url)).toStrictEqual({ visible: 0, inFlight: 0 });
  });
  /** A queue, a data directory and a valid table under its own key, for one test. */
  async function deployment(name: string): Promise<{ env: Record<string, string>; target: string }> {
    const key = `${name}/routes.json`;
    await emu.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: table([{ name: 'registry', prefix: '/registry', upstream: 'http://127.0.0.1:9001' }]),
      }),
    );
    const queue = await createQueue(emu);
    const data = await mkdtemp(join(tmpdir(), 'nest-gateway-data-'));
    cleanup.push(() => rm(data, { recursive: true, force: true }));
    const target = join(data, 'routes.json');
    return {
      env: {
        GATEWAY_SQS_QUEUE_URL: queue.url,
        GATEWAY_S3_URL: `s3://${bucket}/${key}`,
        GATEWAY_JSON_FILE_PATH: target,
      },
      target,
    };
  }

  it('stops the sync and exits 0 on SIGTERM though clients hold requests open, closing them after a grace', async () => {
    const { env } = await deployment('held');
    const gateway = spawnGateway(env);
    const [, url] = await gateway.next(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const port = Number(new URL(url as string).port);
    const open = async (): Promise<Socket> => {
      const socket = connect(port, '127.0.0.1').on('error', () => {});
      await once(socket, 'connect');
      return socket;
    };
    // A request whose headers never finish, and a POST whose body never does (the route answers it
    // at once, since bodies are not read, but the rest of the body is still awaited).
    const headers = await open();
    headers.write('GET /health HTTP/1.1\r\nHost: a\r\n');
    const body = await open();
    body.write(
      'POST /gw/registry/x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
    );
    const [answer] = (await once(body, 'data')) as [Buffer];
    expect(answer.toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
    // The server accepts and reads connections in order: once a later one is answered, it holds both.
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const closed = Promise.all([once(body, 'close'), once(headers, 'close')]);

    gateway.kill('SIGTERM');
    // server.close() alone would wait for these clients for ever; the drain closes them after 2 s.
    const [code, signal] = await exitWithin(gateway, 15_000, 'SIGTERM');
    expect({ code, signal }).toStrictEqual({ code: 0, signal: null });
    await closed;
    expect(
      gateway.lines.filter((line) => /\[S3Sync\] stopp/.test(line)).map((line) => line.replace(/^.*\[S3Sync\] /, '')),
    ).toStrictEqual(['stopping on SIGTERM', 'stopped: no update running, messages settled']);
  });

  it('listens on its local copy within a bound when S3 accepts connections and never answers', async () => {
    const { env, target } = await deployment('stalled');
    await mkdir(join(target, '..'), { recursive: true });
    await writeFile(target, table([{ name: 'registry', prefix: '/registry', upstream: 'http://127.0.0.1:9005' }]));
    const { endpoint } = await blackhole();
    const started = performance.now();
    // 4 attempts (the download's 3 retries, the SDK's none) of 200 ms each, and the delays between.
    const gateway = spawnGateway({ ...env, AWS_ENDPOINT_URL_S3: endpoint, GATEWAY_S3_TIMEOUT_MS: '200' });
    const [, url] = await gateway.next(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 20_000);
    expect(performance.now() - started).toBeLessThan(20_000);
    const health = await fetch(`${url}/health`);
    expect({ status: health.status, body: await health.json() }).toMatchObject({
      status: 200,
      body: { state: 'degraded', version: 1, lastError: { code: 'ERR_DOWNLOAD' } },
    });
    expect(await (await fetch(`${url}/gw/registry/x`)).json()).toMatchObject({ url: 'http://127.0.0.1:9005/x' });
    gateway.kill('SIGTERM');
    expect(await exitWithin(gateway, 15_000, 'SIGTERM')).toStrictEqual([0, null]);
  }, 40_000);

  it('exits 0 on SIGTERM during start-up, without an uncaught error', async () => {
    const { env } = await deployment('starting');
    const { endpoint, connected } = await blackhole();
    const gateway = spawnGateway({ ...env, AWS_ENDPOINT_URL_S3: endpoint });
    // The first fetch of the table is waiting on the stalled S3: start() has not resolved.
    await connected;
    gateway.kill('SIGTERM');
    expect(await exitWithin(gateway, 15_000, 'SIGTERM')).toStrictEqual([0, null]);
    expect(gateway.lines.filter((line) => /ClosedError|ERR_CLOSED|listening on/.test(line))).toStrictEqual([]);
    expect(gateway.lines.some((line) => line.includes('[S3Sync] stopped'))).toBe(true);
  });
  it("compiles its README's module snippet as written", async () => {
    const readme = await readFile(join(ROOT, 'examples/nest-gateway/README.md'), 'utf8');
    const snippet = readme.slice(readme.indexOf('## The module')).match(/```ts\n([\s\S]*?)```/)?.[1];
    expect(snippet).toContain('S3SyncModule.forRootAsync');
    const dir = await mkdtemp(join(tmpdir(), 'nest-gateway-snippet-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    // Relative, as the snippet's own imports are (a path from the root would not be rewritten).
    const example = relative(dir, join(ROOT, 'examples/nest-gateway/src'));
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
    // The snippet's neighbours: the example's own modules, and the AWS module it says is yours.
    await writeFile(join(dir, 'app.module.ts'), snippet as string);
    await writeFile(join(dir, 'routing-table.ts'), `export * from './${join(example, 'routing-table.ts')}';\n`);
    await writeFile(join(dir, 's3-sync.module.ts'), `export * from './${join(example, 's3-sync.module.ts')}';\n`);
    await writeFile(
      join(dir, 'aws.module.ts'),
      [
        "import { S3Client } from '@aws-sdk/client-s3';",
        "import { SQSClient } from '@aws-sdk/client-sqs';",
        "import { Module } from '@nestjs/common';",
        '@Module({ providers: [S3Client, SQSClient], exports: [S3Client, SQSClient] })',
        'export class AwsModule {}',
      ].join('\n'),
    );
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(ROOT, 'examples/nest-gateway/tsconfig.json'),
        compilerOptions: { noEmit: true, rootDir: '/', paths: { 's3-sqs-sync': [join(ROOT, 'src/index.ts')] } },
        include: ['*.ts'],
      }),
    );
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const compiled = await promisify(execFile)(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')]).then(
      () => 'compiled',
      (error: { stdout: string }) => error.stdout,
    );
    expect(compiled).toBe('compiled');
  }, 60_000);
});
