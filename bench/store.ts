/**
 * JsonFileStore.reload() against the fastest bare load, JSON.parse(readFileSync(path, 'utf8')),
 * and the async JSON.parse(await readFile(path, 'utf8')), side by side, on registry-shaped JSON
 * (the real MCP registry seed's entries, repeated and varied) of 1, 50 and 200 MiB; plus a
 * worker-thread parse, and store.get() calls per second. Rounds alternate the cases, so drift in
 * a shared machine's speed hits them alike; the reload/bare ratio is given per round as well as
 * from the medians, with its spread.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median, printTable } from './lib.ts';

const MiB = 1024 * 1024;
const SIZES_MIB = (process.env.BENCH_SIZES_MIB ?? '1,50,200').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CASES = ['bare', 'bare-held', 'bare-async', 'reload', 'worker'] as const;
const run = promisify(execFile);

const seedPath = fileURLToPath(new URL('../test/fixtures/mcp-registry-seed-2025-05-16.json', import.meta.url));
const seed = JSON.parse(await readFile(process.env.S3_SQS_SYNC_SEED ?? seedPath, 'utf8')) as Record<string, unknown>[];
const seedBytes = Buffer.byteLength(JSON.stringify(seed));

const dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-bench-store-'));
const files = new Map<number, string>();
for (const size of SIZES_MIB) {
  const copies = Math.max(1, Math.round((size * MiB) / seedBytes));
  const servers: Record<string, unknown>[] = [];
  for (let copy = 0; copy < copies; copy++) {
    for (const entry of seed)
      servers.push({ ...entry, id: `${String(entry.id)}-${copy}`, name: `${String(entry.name)}-${copy}` });
  }
  const path = join(dir, `registry-${size}MiB.json`);
  await writeFile(path, JSON.stringify(servers));
  files.set(size, path);
}

const script = fileURLToPath(new URL('./store-case.ts', import.meta.url));
async function measure(name: string, file: string) {
  const { stdout } = await run(process.execPath, ['--expose-gc', '--max-old-space-size=8192', script, name, file], {
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
    maxBuffer: MiB,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
    ms: number;
    cpuMs: number;
    maxBlockMs: number;
    rssGrowthBytes: number;
    getsPerSecond: number;
  };
}

type Sample = Awaited<ReturnType<typeof measure>>;
const samples = new Map<string, Sample[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const size of SIZES_MIB) {
    for (const name of CASES) {
      const id = `${size}:${name}`;
      samples.set(id, [...(samples.get(id) ?? []), await measure(name, files.get(size) ?? '')]);
    }
  }
}
const gets = await measure('get', files.get(SIZES_MIB[0] ?? 1) ?? '');
await rm(dir, { recursive: true, force: true });

const stat = (size: number, name: string, pick: (s: Sample) => number) =>
  median((samples.get(`${size}:${name}`) ?? []).map(pick));

console.log(`\n${ROUNDS} rounds, medians; each load in its own process after one warm-up load\n`);
const rows: string[][] = [['size', 'case', 'time', 'CPU time', 'longest event-loop block', 'peak RSS growth']];
for (const size of SIZES_MIB) {
  for (const name of CASES) {
    rows.push([
      `${size} MiB`,
      name,
      `${stat(size, name, (s) => s.ms).toFixed(1)} ms`,
      `${stat(size, name, (s) => s.cpuMs).toFixed(1)} ms`,
      `${stat(size, name, (s) => s.maxBlockMs).toFixed(1)} ms`,
      `${(stat(size, name, (s) => s.rssGrowthBytes) / MiB).toFixed(0)} MiB`,
    ]);
  }
}
printTable(rows);
console.log('');
for (const size of SIZES_MIB) {
  const bare = stat(size, 'bare', (s) => s.ms);
  const ratio = (name: string) => (stat(size, name, (s) => s.ms) / bare).toFixed(2);
  // Paired by round: each round ran bare and reload one after the other.
  const spread = (pick: (s: Sample) => number) => {
    const reloads = samples.get(`${size}:reload`) ?? [];
    const perRound = (samples.get(`${size}:bare`) ?? []).map((b, i) => pick(reloads[i] ?? b) / pick(b));
    const sorted = [...perRound].sort((a, b) => a - b);
    return `per round: median ${median(perRound).toFixed(2)}, ${sorted[0]?.toFixed(2)}–${sorted.at(-1)?.toFixed(2)}`;
  };
  const cpuRatio = stat(size, 'reload', (s) => s.cpuMs) / stat(size, 'bare', (s) => s.cpuMs);
  console.log(
    `${size} MiB: CPU time reload/bare = ${cpuRatio.toFixed(2)} (${spread((s) => s.cpuMs)}); ` +
      `wall time reload/bare = ${ratio('reload')} (${spread((s) => s.ms)})`,
  );
  console.log(
    `${size} MiB: reload/bare-held = ${(stat(size, 'reload', (s) => s.ms) / stat(size, 'bare-held', (s) => s.ms)).toFixed(2)} ` +
      `(CPU ${(stat(size, 'reload', (s) => s.cpuMs) / stat(size, 'bare-held', (s) => s.cpuMs)).toFixed(2)}), reload/bare-async = ${(stat(size, 'reload', (s) => s.ms) / stat(size, 'bare-async', (s) => s.ms)).toFixed(2)}, ` +
      `worker/bare = ${ratio('worker')}; longest block bare ${stat(size, 'bare', (s) => s.maxBlockMs).toFixed(0)} ms, ` +
      `reload ${stat(size, 'reload', (s) => s.maxBlockMs).toFixed(0)} ms, worker ${stat(size, 'worker', (s) => s.maxBlockMs).toFixed(0)} ms`,
  );
}
console.log(`store.get(): ${(gets.getsPerSecond / 1e6).toFixed(0)} M calls/s`);
