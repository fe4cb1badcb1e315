/**
 * One measured load, in its own process: node bench/store-case.ts <case> <file>
 * Cases: bare (JSON.parse(readFileSync(path, 'utf8')), the fastest bare way), bare-held (the same,
 * holding its previous result while it loads, as the store holds its snapshot), bare-async
 * (JSON.parse(await readFile(path, 'utf8'))), reload (JsonFileStore.reload), worker (JSON.parse in
 * a worker thread, the object posted back), get (store.get() calls per second).
 * As in service: one warm-up load first (the store keeps its snapshot while it reloads; the bare
 * cases drop theirs, which only flatters them), then the file is rewritten, then the measured load.
 * Prints one JSON line: { ms, cpuMs, maxBlockMs, rssGrowthBytes, getsPerSecond? }.
 */
import { readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
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
  bare: async () => JSON.parse(readFileSync(file, 'utf8')),
  'bare-held': async () => JSON.parse(readFileSync(file, 'utf8')),
  'bare-async': async () => JSON.parse(await readFile(file, 'utf8')),
  reload: () => store.reload(),
  worker: () => parseInWorker(file),
};

/** Replaces the file as a publisher does (a new file renamed over it), with the same bytes. */
async function rewrite(): Promise<void> {
  await writeFile(`${file}.next`, await readFile(file));
  await rename(`${file}.next`, file);
}

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
  // Warm: code paths compiled; the store now holds a snapshot, as in service, and so does
  // bare-held (the same JSON.parse as bare, keeping its previous result alive like the store).
  let warm: unknown = await run();
  const held = name === 'bare-held' ? warm : undefined;
  warm = undefined; // the other bare cases drop theirs
  await rewrite();
  const rss = startRssSampler();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  // Let the monitor's timer start first, or a synchronous load would block it unseen.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const result = await run();
  const ms = performance.now() - start;
  // CPU time of every thread of the process (main, libuv pool, GC helpers): on a shared machine,
  // time spent waiting for a core counts in `ms` but not here.
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  // The delay of a blocked loop is recorded when its timer finally fires: let it fire.
  await new Promise((resolve) => setTimeout(resolve, 5));
  delay.disable();
  const rssGrowthBytes = rss.stop();
  if (result === undefined || (name === 'bare-held' && held === undefined)) throw new Error('no result');
  process.stdout.write(`${JSON.stringify({ ms, cpuMs, maxBlockMs: delay.max / 1e6, rssGrowthBytes })}\n`);
}
await store.close();
