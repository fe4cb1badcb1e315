/**
 * Reads the repository URLs of the real MCP registry seed and shows which name an S3 object and
 * which do not: a registry that accepts `s3_url` fields from publishers must refuse the rest.
 *
 *   npm run build && node examples/parse-url.ts
 */
import { readFileSync } from 'node:fs';
import { formatS3Url, parseS3Url, tryParseS3Url } from 's3-sqs-sync';

const seed = JSON.parse(
  readFileSync(new URL('../test/fixtures/mcp-registry-seed-2025-05-16.json', import.meta.url), 'utf8'),
) as { repository?: { url?: string } }[];

const urls = seed.map((server) => server.repository?.url).filter((url): url is string => typeof url === 'string');
const s3 = urls.filter((url) => tryParseS3Url(url) !== undefined);
console.log(`${urls.length} repository URLs in the seed, ${s3.length} of them name an S3 object`);

const location = parseS3Url('https://registry-prod.s3.eu-west-1.amazonaws.com/v0/registry.json?versionId=3HL4kq');
console.log(location);
console.log(formatS3Url(location, { style: 'path' }));
