/**
 * One download, in its own process, so its peak RSS is its own:
 *   node bench/download-case.ts <case> <endpoint> <bucket> <key> <target>
 * Prints one JSON line: { bytes, ms, rssGrowthBytes }.
 */
import { createWriteStream } from 'node:fs';
import { open, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { downloadS3Object } from '../dist/index.js';
import { startRssSampler } from './lib.ts';

const [name, endpoint, bucket, key, target] = process.argv.slice(2) as [string, string, string, string, string];
const client = new S3Client({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
});

async function get() {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (out.Body === undefined) throw new Error('no body');
  return out.Body;
}

const cases: Record<string, () => Promise<number>> = {
  // (a) the network limit: the body into a sink that discards it.
  async 'a-null-sink'() {
    let bytes = 0;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback();
      },
    });
    await pipeline((await get()) as NodeJS.ReadableStream, sink);
    return bytes;
  },
  // (b) the durability floor: the body into a plain file, then fsync. No temp, rename or checks.
  async 'b-write-fsync'() {
    await pipeline((await get()) as NodeJS.ReadableStream, createWriteStream(target));
    const handle = await open(target, 'r+');
    await handle.sync();
    const { size } = await handle.stat();
    await handle.close();
    return size;
  },
  // (e) by hand with the library's guarantees: a temp file beside the target, fsync as it closes,
  // rename over the target, fsync of the directory. No checks, retries, timeouts or mode keeping.
  async 'e-temp-rename'() {
    const temp = `${target}.${process.pid}.tmp`;
    const file = await open(temp, 'wx', 0o600);
    await pipeline((await get()) as NodeJS.ReadableStream, file.createWriteStream({ flush: true }));
    await rename(temp, target);
    const directory = await open(dirname(target), 'r');
    await directory.sync();
    await directory.close();
    return (await stat(target)).size;
  },
  // (c) this library.
  async 'c-downloadS3Object'() {
    const result = await downloadS3Object({ client, source: { bucket, key }, target });
    if (result.status !== 'downloaded') throw new Error('not downloaded');
    return result.bytes;
  },
  // (d) the common hand-written way: the whole body in memory, then writeFile.
  async 'd-byte-array'() {
    const bytes = await (await get()).transformToByteArray();
    await writeFile(target, bytes);
    return bytes.length;
  },
};

const run = cases[name];
if (run === undefined) throw new Error(`unknown case ${name}`);
// Warm the client (connection, credentials, endpoint resolution) on a request that moves no body.
await client
  .send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=0-0' }))
  .then((o) => o.Body?.transformToByteArray());
const rss = startRssSampler();
const start = performance.now();
const bytes = await run();
const ms = performance.now() - start;
const rssGrowthBytes = rss.stop();
process.stdout.write(`${JSON.stringify({ bytes, ms, rssGrowthBytes })}\n`);
client.destroy();
