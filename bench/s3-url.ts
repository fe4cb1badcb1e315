/**
 * parseS3Url against amazon-s3-uri (the most used S3 URL parser on npm), on the same inputs in
 * one run. Throughput on inputs both parse alike; then a table of inputs where they differ.
 */
import AmazonS3URI from 'amazon-s3-uri';
import { parseS3Url, tryParseS3Url } from '../dist/index.js';
import { compareThroughput, formatRate, printTable } from './lib.ts';

// A mix of the forms seen in real messages and configuration.
const INPUTS = [
  's3://mcp-registry-prod/registry.json',
  's3://mcp-registry-prod/v0/servers/io.github.acme%2Fweather/registry.json',
  'https://mcp-registry-prod.s3.us-west-2.amazonaws.com/registry.json',
  'https://mcp-registry-prod.s3.eu-central-1.amazonaws.com/snapshots/2025-05-16/registry%20v2.json',
  'https://s3.us-east-2.amazonaws.com/mcp-registry-prod/registry.json',
  'https://s3.amazonaws.com/gateway-config/routes/table.json',
  'https://gateway-config.s3.amazonaws.com/routes/table.json',
  'https://gateway-config.s3-eu-west-1.amazonaws.com/routes/table.json',
  'https://gateway-config.s3.dualstack.ap-southeast-2.amazonaws.com/routes/table.json',
  'https://gateway-config.s3.us-west-2.amazonaws.com/routes/table.json?versionId=3HL4kqtJlcpXroDTDmJ',
  'https://my.dotted.bucket.s3.cn-north-1.amazonaws.com.cn/data/hot-set.json',
  's3://data-lake-raw/year=2025/month=11/part-00000.snappy.parquet',
];

for (const input of INPUTS) {
  const ours = parseS3Url(input);
  const theirs = AmazonS3URI(input);
  if (ours.bucket !== theirs.bucket || ours.key !== theirs.key) {
    throw new Error(`The parsers disagree on ${input}; the throughput comparison needs identical work`);
  }
}

// The cost of the custom-endpoint option when it is used, on the same AWS inputs.
const withEndpoints = {
  endpoints: [{ url: 'http://127.0.0.1:9000' }, { url: 'https://r2.example.com', virtualHosted: true }],
};

let sink: unknown;
const results = compareThroughput([
  {
    name: 'parseS3Url',
    fn: () => {
      for (const input of INPUTS) sink = parseS3Url(input);
    },
    opsPerCall: INPUTS.length,
  },
  {
    name: 'amazon-s3-uri',
    fn: () => {
      for (const input of INPUTS) sink = AmazonS3URI(input);
    },
    opsPerCall: INPUTS.length,
  },
  {
    name: 'parseS3Url, 2 endpoints listed',
    fn: () => {
      for (const input of INPUTS) sink = parseS3Url(input, withEndpoints);
    },
    opsPerCall: INPUTS.length,
  },
]);
if (sink === undefined) throw new Error('nothing parsed');
const [ours, theirs, custom] = results;
if (ours === undefined || theirs === undefined || custom === undefined) throw new Error('no results');

console.log(`\nthroughput on ${INPUTS.length} inputs both parse to the same bucket and key (median of 7 rounds)\n`);
printTable([['parser', 'parses/s'], ...results.map((r) => [r.name, formatRate(r.opsPerSecond)])]);
console.log(`\nratio parseS3Url / amazon-s3-uri: ${(ours.opsPerSecond / theirs.opsPerSecond).toFixed(2)}x`);
console.log(
  `ratio with 2 endpoints listed / amazon-s3-uri: ${(custom.opsPerSecond / theirs.opsPerSecond).toFixed(2)}x`,
);

// Where the two differ. `expected` is the right answer: a location, or null for "refuse".
type Expected = { bucket: string; key: string; region?: string } | null;
const CORRECTNESS: readonly [string, Expected][] = [
  ['https://s3.amazonaws.com.evil.com/bucket/key', null],
  ['https://bucket.s3.amazonaws.com.evil.com/key', null],
  ['http://bucket.s3-website-us-east-1.amazonaws.com/index.html', null],
  ['https://s3.amazonaws.com/bucket/a/../b', { bucket: 'bucket', key: 'a/../b' }],
  ['https://bucket.s3.amazonaws.com/k', { bucket: 'bucket', key: 'k' }],
  ['https://bucket.s3-fips.us-east-1.amazonaws.com/k', { bucket: 'bucket', key: 'k', region: 'us-east-1' }],
  ['https://bucket.s3-accelerate.amazonaws.com/k', { bucket: 'bucket', key: 'k' }],
  ['s3://Bad_Bucket/k', null],
  ['s3://bucket/100%.json', null],
  ['s3://bucket/key#part', null],
  ['https://s3.us-east-1.amazonaws.com/bucket', null],
  [
    'https://my-ap-123456789012.s3-accesspoint.us-west-2.amazonaws.com/k',
    { bucket: 'arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap', key: 'k', region: 'us-west-2' },
  ],
];

function theirsAsLocation(input: string): Expected {
  try {
    const r = AmazonS3URI(input);
    if (r.bucket === null || r.key === null) return null;
    return { bucket: r.bucket, key: r.key, region: r.region };
  } catch {
    return null;
  }
}

function oursAsLocation(input: string): Expected {
  const r = tryParseS3Url(input);
  if (r === undefined) return null;
  return r.region === undefined ? { bucket: r.bucket, key: r.key } : { bucket: r.bucket, key: r.key, region: r.region };
}

const same = (a: Expected, b: Expected): boolean => JSON.stringify(a) === JSON.stringify(b);
const show = (l: Expected): string =>
  l === null ? 'refused' : `${l.bucket} | ${l.key}${l.region ? ` | ${l.region}` : ''}`;
let oursWrong = 0;
let theirsWrong = 0;
const rows: string[][] = [['input', 'expected', 'parseS3Url', 'amazon-s3-uri']];
for (const [input, expected] of CORRECTNESS) {
  const o = oursAsLocation(input);
  const t = theirsAsLocation(input);
  if (!same(o, expected)) oursWrong++;
  if (!same(t, expected)) theirsWrong++;
  rows.push([
    input,
    show(expected),
    same(o, expected) ? 'ok' : `WRONG: ${show(o)}`,
    same(t, expected) ? 'ok' : `WRONG: ${show(t)}`,
  ]);
}
console.log(`\ncorrectness on ${CORRECTNESS.length} inputs where the parsers differ\n`);
printTable(rows);
console.log(
  `\nwrong answers: parseS3Url ${oursWrong}/${CORRECTNESS.length}, amazon-s3-uri ${theirsWrong}/${CORRECTNESS.length}`,
);
