// Each subpath loads only what it needs: `s3-sqs-sync/url` and `s3-sqs-sync/store` load no AWS
// SDK module, `s3-sqs-sync/sqs` no S3 client, `s3-sqs-sync/download` no SQS client. Run against
// the built package, in a fresh process per subpath, with a resolve hook recording every module.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const probe = `
  import { registerHooks } from 'node:module';
  const seen = [];
  registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
  const started = performance.now();
  await import(process.argv[1]);
  const ms = performance.now() - started;
  console.log(JSON.stringify({ ms, seen }));
`;
const load = (entry) =>
  JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', probe, entry], { encoding: 'utf8' }));
const sdk = (seen, client) => seen.filter((url) => url.includes(`/node_modules/@aws-sdk/${client}/`));

const expectations = {
  's3-sqs-sync/url': { s3: false, sqs: false },
  's3-sqs-sync/store': { s3: false, sqs: false },
  's3-sqs-sync/download': { s3: true, sqs: false },
  's3-sqs-sync/sqs': { s3: false, sqs: true },
  's3-sqs-sync': { s3: true, sqs: true },
};
const times = {};
for (const [entry, expected] of Object.entries(expectations)) {
  const { ms, seen } = load(entry);
  times[entry] = Math.round(ms);
  assert.equal(sdk(seen, 'client-s3').length > 0, expected.s3, `${entry} loads the S3 client: ${expected.s3}`);
  assert.equal(sdk(seen, 'client-sqs').length > 0, expected.sqs, `${entry} loads the SQS client: ${expected.sqs}`);
}
console.log(`subpaths smoke: ok (import ms: ${JSON.stringify(times)})`);
