/**
 * downloadS3Object against four baselines, side by side, on objects of 1, 64 and 512 MiB
 * uploaded multipart to the fauxqs emulator on loopback. Each download runs in its own child
 * process (bench/download-case.ts); cases alternate round by round.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { buildApp } from 'fauxqs';
import { median, printTable } from './lib.ts';

const MiB = 1024 * 1024;
const SIZES_MIB = (process.env.BENCH_SIZES_MIB ?? '1,64,512').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// fauxqs accepts request bodies up to 11 MiB; S3 parts are at least 5 MiB.
const PART_BYTES = 8 * MiB;
const CASES = ['a-null-sink', 'b-write-fsync', 'e-temp-rename', 'c-downloadS3Object', 'd-byte-array'] as const;
const run = promisify(execFile);

const app = buildApp({ logger: false });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (address === null || typeof address === 'string') throw new Error('no port');
const endpoint = `http://127.0.0.1:${address.port}`;
const s3 = new S3Client({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
});
const bucket = 'bench-downloads';
await s3.send(new CreateBucketCommand({ Bucket: bucket }));

const block = randomBytes(PART_BYTES);
for (const size of SIZES_MIB) {
  const key = `object-${size}MiB`;
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const parts = [];
  for (let offset = 0, n = 1; offset < size * MiB; offset += PART_BYTES, n++) {
    const body = block.subarray(0, Math.min(PART_BYTES, size * MiB - offset));
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, Body: body }),
    );
    parts.push({ ETag, PartNumber: n });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
  );
}

const dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-bench-'));
const script = fileURLToPath(new URL('./download-case.ts', import.meta.url));
type Sample = { bytes: number; ms: number; rssGrowthBytes: number };
const samples = new Map<string, Sample[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const size of SIZES_MIB) {
    for (const name of CASES) {
      const target = join(dir, `${name}-${size}.bin`);
      const { stdout } = await run(
        process.execPath,
        ['--expose-gc', script, name, endpoint, bucket, `object-${size}MiB`, target],
        {
          env: { ...process.env, NODE_NO_WARNINGS: '1' },
          maxBuffer: MiB,
        },
      );
      const sample = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Sample;
      if (sample.bytes !== size * MiB) throw new Error(`${name} moved ${sample.bytes} bytes of ${size * MiB}`);
      const id = `${size}:${name}`;
      samples.set(id, [...(samples.get(id) ?? []), sample]);
      await rm(target, { force: true });
    }
  }
}
await rm(dir, { recursive: true, force: true });
s3.destroy();
await app.close();

const mbps = (size: number, name: string) =>
  median((samples.get(`${size}:${name}`) ?? []).map((s) => (size * MiB) / 1e6 / (s.ms / 1000)));
const rssAll = (size: number, name: string) => (samples.get(`${size}:${name}`) ?? []).map((s) => s.rssGrowthBytes);
const rss = (size: number, name: string) => Math.max(...rssAll(size, name));
const rssMedian = (size: number, name: string) => median(rssAll(size, name));

console.log(`\n${ROUNDS} rounds; MB/s is the median; RSS growth is peak RSS during the download minus RSS before it\n`);
const rows: string[][] = [['size', 'case', 'MB/s', 'RSS growth median', 'RSS growth max']];
for (const size of SIZES_MIB) {
  for (const name of CASES) {
    rows.push([
      `${size} MiB`,
      name,
      mbps(size, name).toFixed(0),
      `${(rssMedian(size, name) / MiB).toFixed(1)} MiB`,
      `${(rss(size, name) / MiB).toFixed(1)} MiB`,
    ]);
  }
}
printTable(rows);
console.log('');
for (const size of SIZES_MIB) {
  const c = mbps(size, 'c-downloadS3Object');
  console.log(
    `${size} MiB: (c)/(b) = ${(c / mbps(size, 'b-write-fsync')).toFixed(2)}, (c)/(e) = ${(c / mbps(size, 'e-temp-rename')).toFixed(2)}, ` +
      `(c)/(a) = ${(c / mbps(size, 'a-null-sink')).toFixed(2)}, ` +
      `RSS growth max (c) ${(rss(size, 'c-downloadS3Object') / MiB).toFixed(1)} MiB vs (d) ${(rss(size, 'd-byte-array') / MiB).toFixed(1)} MiB`,
  );
}
