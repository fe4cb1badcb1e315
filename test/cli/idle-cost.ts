// Measures the idle cost of `s3-sqs-sync sync`: receive requests per minute, CPU seconds and RSS.
// Starts the emulator here (loopback), one object and one queue, runs the command, lets it settle,
// then watches it for a minute with no messages. Linux only (/proc).
//
//   node test/cli/idle-cost.ts [--built] [--seconds 60] [-- extra sync flags]
//
// --built runs dist/cli.js (build it first); otherwise the sources through the test hooks.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';

const { values, positionals } = parseArgs({
  options: { built: { type: 'boolean' }, seconds: { type: 'string' } },
  allowPositionals: true,
});
const seconds = Number(values.seconds ?? 60);
const root = new URL('../../', import.meta.url).pathname;

const app = buildApp({ logger: false, defaultRegion: 'us-east-1' });
let receives = 0;
app.addHook('onRequest', async (request) => {
  const target = request.headers['x-amz-target'];
  if (typeof target === 'string' && target.endsWith('.ReceiveMessage')) receives += 1;
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (address === null || typeof address === 'string') throw new Error('no port');
const endpoint = `http://127.0.0.1:${address.port}`;
const config = {
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
};
const s3 = new S3Client(config);
const sqs = new SQSClient(config);
await s3.send(new CreateBucketCommand({ Bucket: 'idle-bucket' }));
await s3.send(new PutObjectCommand({ Bucket: 'idle-bucket', Key: 'registry.json', Body: '{"servers":[]}' }));
const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: 'idle-queue' }));

const dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-idle-'));
const entry =
  values.built === true ? ['dist/cli.js'] : ['--import', './test/support/source-hooks.mjs', 'src/cli/main.ts'];
const child = spawn(
  process.execPath,
  [
    ...entry,
    'sync',
    '--source',
    's3://idle-bucket/registry.json',
    '--queue-url',
    QueueUrl,
    '--target',
    join(dir, 'registry.json'),
    ...positionals,
  ],
  {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ENDPOINT_URL_SQS: endpoint,
    },
  },
);
await new Promise<void>((resolve, reject) => {
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
    if (text.includes('"msg":"sync started"')) resolve();
  });
  child.once('exit', (code) => reject(new Error(`exited ${code}: ${text}`)));
});

const ticks = 100; // USER_HZ on Linux
async function cpuSeconds(): Promise<number> {
  const fields = (await readFile(`/proc/${child.pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / ticks; // utime, stime
}
async function rssMiB(): Promise<number> {
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

// Let start-up work (JIT, first allocations) settle before measuring.
await new Promise((resolve) => setTimeout(resolve, 5000));
const cpu0 = await cpuSeconds();
const receives0 = receives;
const rss0 = await rssMiB();
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const cpu1 = await cpuSeconds();
const rss1 = await rssMiB();
const result = {
  mode: values.built === true ? 'dist/cli.js' : 'sources (type stripping)',
  seconds,
  receiveRequestsPerMinute: ((receives - receives0) * 60) / seconds,
  cpuSeconds: Number((cpu1 - cpu0).toFixed(2)),
  cpuPercent: Number((((cpu1 - cpu0) / seconds) * 100).toFixed(3)),
  rssMiB: { atStart: Number(rss0.toFixed(1)), atEnd: Number(rss1.toFixed(1)) },
  node: process.version,
};
console.log(JSON.stringify(result));

child.kill('SIGTERM');
const code = await new Promise((resolve) => child.once('exit', resolve));
console.log(JSON.stringify({ exitCodeAfterSigterm: code }));
s3.destroy();
sqs.destroy();
await app.close();
await rm(dir, { recursive: true, force: true });
