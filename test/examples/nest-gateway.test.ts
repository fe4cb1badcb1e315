import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createQueue, type Emulator, queueDepth, startEmulator } from '../support/emulator.ts';
import { s3EventBody, sequencer } from '../support/s3-events.ts';

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

    const gateway = new Gateway(
      spawn(process.execPath, ['--import', SOURCE_HOOKS, join(build, 'examples/nest-gateway/src/main.js')], {
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
          GATEWAY_SQS_QUEUE_URL: queue.url,
          GATEWAY_SQS_WAIT_TIME_SECONDS: '1',
          GATEWAY_S3_URL: `s3://${bucket}/${KEY}`,
          GATEWAY_JSON_FILE_PATH: join(data, 'state', 'routes.json'), // created on start
        },
      }),
    );
    onTestFailed(() => {
      console.error(`the gateway's output:\n${gateway.lines.join('\n')}`);
    });
    cleanup.push(async () => {
      gateway.kill('SIGKILL');
      await gateway.exited;
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
});
