import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  analyzeTextFile,
  EXTRACT_LENGTH,
  guessContentType,
  NotTextError,
} from '../../examples/s3-upload-processor/analyze.ts';
import { configFromEnv } from '../../examples/s3-upload-processor/app.ts';
import { fileName } from '../../examples/s3-upload-processor/processor.ts';
import { ConfigError } from '../../src/index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-upload-processor-unit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function file(content: string | Uint8Array): Promise<string> {
  const path = join(dir, `f${++n}`);
  await writeFile(path, content);
  return path;
}

describe('analyzeTextFile', () => {
  it('counts the same across read chunks as over the whole text', async () => {
    // Over several 64 KiB reads, with words and multi-byte characters cut by the chunk edges.
    const text = Array.from({ length: 30_000 }, (_, i) => (i % 7 === 0 ? 'é🙂\n' : `w${i} `)).join('');
    const stats = await analyzeTextFile(await file(text), { key: 'big.txt' });
    expect(Buffer.byteLength(text)).toBeGreaterThan(3 * 65_536);
    expect(stats).toMatchObject({
      bytes: Buffer.byteLength(text),
      words: text.match(/\S+/g)?.length,
      lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0),
      truncated: true,
    });
    expect(stats.extract).toBe(Array.from(text).slice(0, EXTRACT_LENGTH).join(''));
  });

  it('reports an empty file as no lines, no words, an empty extract', async () => {
    expect(await analyzeTextFile(await file(''), { key: 'empty.txt' })).toMatchObject({
      bytes: 0,
      lines: 0,
      words: 0,
      extract: '',
      truncated: false,
    });
  });

  it('keeps an extract of exactly the limit untruncated, and drops a byte order mark', async () => {
    const text = 'x'.repeat(EXTRACT_LENGTH);
    const stats = await analyzeTextFile(await file(`\uFEFF${text}`), { key: 'a.txt' });
    expect(stats).toMatchObject({ extract: text, truncated: false, lines: 1, words: 1 });
  });

  it('refuses invalid UTF-8, also past the first chunk and cut at the end', async () => {
    const late = Buffer.concat([Buffer.alloc(100_000, 'a'), Buffer.from([0xff, 0x61])]);
    await expect(analyzeTextFile(await file(late), { key: 'late.txt' })).rejects.toThrow(NotTextError);
    const cut = Buffer.concat([Buffer.from('text ends in half a character '), Buffer.from([0xc3])]);
    await expect(analyzeTextFile(await file(cut), { key: 'cut.txt' })).rejects.toThrow('not valid UTF-8');
  });

  it('refuses a NUL byte, naming its offset', async () => {
    const bytes = Buffer.concat([Buffer.alloc(70_000, 'a'), Buffer.from([0])]);
    await expect(analyzeTextFile(await file(bytes), { key: 'nul.txt' })).rejects.toThrow('a NUL byte at offset 70000');
  });

  it('stops reading when its signal is aborted', async () => {
    const signal = AbortSignal.abort(new Error('stopping'));
    await expect(analyzeTextFile(await file('words'), { key: 'a.txt', signal })).rejects.toThrow();
  });
});

describe('guessContentType', () => {
  it.each([
    ['notes.txt', undefined, 'text/plain; charset=utf-8'],
    ['DATA.JSON', 'binary/octet-stream', 'application/json; charset=utf-8'],
    ['table', 'text/csv; charset=latin1', 'text/csv; charset=utf-8'],
    ['blob', 'application/octet-stream', 'text/plain; charset=utf-8'],
  ])('%s stored as %s is %s', (key, stored, expected) => {
    expect(guessContentType(key, stored)).toBe(expected);
  });
});

describe('fileName', () => {
  it('takes nothing from the key but a hash and a plain extension', () => {
    const escaping = fileName('s3://uploads/../../etc/passwd');
    expect(escaping).toMatch(/^[0-9a-f]{32}$/);
    expect(fileName('s3://uploads/a/b.TXT')).toMatch(/^[0-9a-f]{32}\.txt$/);
    expect(fileName('s3://uploads/a/b.t/x')).toMatch(/^[0-9a-f]{32}$/);
    expect(fileName('s3://uploads/a.txt')).not.toBe(fileName('s3://other/a.txt'));
  });
});

describe('configFromEnv', () => {
  const env = {
    API_KEY: 'a-key-of-sixteen-chars',
    QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/111122223333/uploads',
    ALLOWED_BUCKETS: 'uploads, more-uploads',
    WORK_DIR: '/var/lib/uploads',
  };

  it('reads the settings, with defaults for the optional ones', () => {
    expect(configFromEnv(env)).toStrictEqual({
      apiKey: env.API_KEY,
      queueUrl: env.QUEUE_URL,
      allow: { buckets: ['uploads', 'more-uploads'] },
      workDir: '/var/lib/uploads',
      port: 3000,
    });
    expect(
      configFromEnv({ ...env, ALLOWED_KEY_PREFIXES: 'in/', PORT: '0', MAX_BYTES: '1024', RATE_LIMIT_PER_MINUTE: '5' }),
    ).toMatchObject({
      allow: { buckets: ['uploads', 'more-uploads'], keyPrefixes: ['in/'] },
      port: 0,
      maxBytes: 1024,
      rateLimit: { limit: 5, windowMs: 60_000 },
    });
  });

  it.each(['API_KEY', 'QUEUE_URL', 'ALLOWED_BUCKETS', 'WORK_DIR'])('names %s when it is missing', (name) => {
    const error = catchError(() => configFromEnv({ ...env, [name]: undefined }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'ERR_CONFIG', variable: name });
    expect((error as Error).message).toContain(`${name} must be`);
  });

  it.each([
    ['API_KEY', 'short-secret'],
    ['API_KEY', 'schlüssel-für-die-ergebnisse'],
    ['API_KEY', 'correct horse battery staple'],
    ['ALLOWED_KEY_PREFIXES', ' , '],
    ['ALLOWED_KEY_PREFIXES', ''],
    ['ALLOWED_KEY_PREFIXES', '   '],
    ['QUEUE_URL', 'uploads'],
    ['ALLOWED_BUCKETS', 'Not_A_Bucket'],
    ['PORT', '70000'],
    ['MAX_BYTES', '-1'],
    ['RATE_LIMIT_PER_MINUTE', 'many'],
  ])('refuses %s=%s', (name, value) => {
    expect(catchError(() => configFromEnv({ ...env, [name]: value }))).toMatchObject({ variable: name });
  });

  it('never repeats the API key in its error', () => {
    expect(String(catchError(() => configFromEnv({ ...env, API_KEY: 'short-secret' })))).not.toContain('short-secret');
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
