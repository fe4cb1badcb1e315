/**
 * `npm run bench -- <name>` runs one benchmark against the built package (`dist/`), the code
 * users receive. `npm run bench` with no name lists them.
 */
const BENCHMARKS: Record<string, string> = {
  's3-url': './s3-url.ts',
  download: './download.ts',
  store: './store.ts',
  listener: './listener.ts',
  sync: './sync.ts',
};

const name = process.argv[2];
const module = name === undefined ? undefined : BENCHMARKS[name];
if (module === undefined) {
  console.log(`usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}>`);
  process.exit(name === undefined ? 0 : 1);
}
console.log(`node ${process.version} · ${name}`);
await import(module);
