import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseS3Url, S3_SYNC_ERROR_CODES, S3UrlError } from '../src/index.ts';

function tableRows(markdown: string, heading: string): string[][] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith(heading));
  if (section === undefined) throw new Error(`no section "${heading}"`);
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| ---'))
    .slice(1)
    .map((line) =>
      line
        .slice(2, -2)
        .split(' | ')
        .map((cell) => cell.trim()),
    );
}

const code = (cell: string): string | undefined => /^`(.*)`$/.exec(cell)?.[1];

describe('docs/s3-urls.md', () => {
  const doc = readFileSync(new URL('../docs/s3-urls.md', import.meta.url), 'utf8');

  const accepted = tableRows(doc, 'Accepted forms');
  it('documents at least 25 accepted forms', () => {
    expect(accepted.length).toBeGreaterThanOrEqual(25);
  });
  it.each(accepted)('%s: parses as documented', (_form, example, bucket, key, region, style) => {
    const parsed = parseS3Url(code(example ?? '') ?? '');
    expect(parsed.bucket).toBe(code(bucket ?? ''));
    expect(parsed.key).toBe(code(key ?? ''));
    expect(parsed.region).toBe(region === '–' ? undefined : code(region ?? ''));
    expect(parsed.style).toBe(code(style ?? ''));
  });

  const refused = tableRows(doc, 'Refused forms').filter((row) => row[2] !== '–');
  it.each(refused)('%s: is refused as documented', (_form, example, reason) => {
    const input = code(example ?? '') ?? '';
    expect(() => parseS3Url(input)).toThrow(S3UrlError);
    expect(() => parseS3Url(input)).toThrow(code(reason ?? ''));
  });
});

describe('docs/s3-urls.md, custom endpoints', () => {
  const doc = readFileSync(new URL('../docs/s3-urls.md', import.meta.url), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('Custom endpoints')) ?? '';
  // The entries of the example in the section's code block, so the table is checked against them.
  const endpoints = [...section.matchAll(/\{ url: '([^']+)'(, virtualHosted: true)? \}/g)].map((m) =>
    m[2] === undefined ? { url: m[1] ?? '' } : { url: m[1] ?? '', virtualHosted: true },
  );
  const rows = tableRows(doc, 'Custom endpoints');

  it('shows two endpoints and at least eight forms', () => {
    expect(endpoints).toHaveLength(2);
    expect(rows.length).toBeGreaterThanOrEqual(8);
  });
  it.each(rows)('%s: is parsed or refused as documented', (_form, example, bucket, key, endpoint, style) => {
    const input = code(example ?? '') ?? '';
    expect(() => parseS3Url(input)).toThrow(S3UrlError);
    if (style === 'refused') {
      expect(() => parseS3Url(input, { endpoints })).toThrow(S3UrlError);
      return;
    }
    const parsed = parseS3Url(input, { endpoints });
    expect(parsed.bucket).toBe(code(bucket ?? ''));
    expect(parsed.key).toBe(code(key ?? ''));
    expect(parsed.endpoint).toBe(code(endpoint ?? ''));
    expect(parsed.style).toBe(code(style ?? ''));
    expect(parsed.region).toBeUndefined();
  });
});

describe('docs/errors.md', () => {
  it('lists exactly the exported error codes', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const documented = doc
      .split('\n')
      .map((line) => /^\| `(ERR_[A-Z0-9_]+)` \|/.exec(line)?.[1])
      .filter((c): c is string => c !== undefined);
    expect(documented.sort()).toEqual([...S3_SYNC_ERROR_CODES].sort());
  });
});
