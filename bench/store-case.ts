/**
 * One measured load, in its own process: node bench/store-case.ts <case> <file>
 * Cases: bare (JSON.parse(await readFile)), reload (JsonFileStore.reload), worker (JSON.parse in a
 * worker thread, the object posted back), get (store.get() calls per second).
 * Prints one JSON line: { ms, maxBlockMs, rssGrowthBytes, getsPerSecond? }.
 */
import { readFile } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { JsonFileStore } from '../dist/index.js';
import { startRssSampler } from './lib.ts';

const [name, file] = process.argv.slice(2) as [string, string];
const store = new JsonFileStore({ path: file });

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
parentPort.postMessage(JSON.parse(readFileSync(workerData, 'utf8')));
`;

function parseInWorker(path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: path });
    worker.once('message', (data) => {
      resolve(data);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

const cases: Record<string, () => Promise<unknown>> = {
  bare: async () => JSON.parse(await readFile(file, 'utf8')),
  reload: () => store.reload(),
  worker: () => parseInWorker(file),
};

if (name === 'get') {
  await store.load();
  let sink = 0;
  const calls = 50_000_000;
  const start = performance.now();
  for (let i = 0; i < calls; i++) sink += (store.get() as unknown[]).length;
  const ms = performance.now() - start;
  if (sink === 0) throw new Error('no data');
  process.stdout.write(`${JSON.stringify({ ms, getsPerSecond: calls / (ms / 1000) })}\n`);
} else {
  const run = cases[name];
  if (run === undefined) throw new Error(`unknown case ${name}`);
  await run(); // warm: code paths compiled, file in the page cache
  const rss = startRssSampler();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = performance.now();
  const result = await run();
  const ms = performance.now() - start;
  // The delay of a blocked loop is recorded when its timer finally fires: let it fire.
  await new Promise((resolve) => setTimeout(resolve, 5));
  delay.disable();
  const rssGrowthBytes = rss.stop();
  if (result === undefined) throw new Error('no result');
  process.stdout.write(`${JSON.stringify({ ms, maxBlockMs: delay.max / 1e6, rssGrowthBytes })}\n`);
}
await store.close();
