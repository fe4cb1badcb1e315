import { execFile } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReloadableStore, JsonFileStore, type S3SyncError } from '../../src/index.ts';
import { registry, type TempSource, tempSource } from '../../src/testing/index.ts';

const MiB = 1024 * 1024;

describe('JsonFileStore reads', () => {
  let source: TempSource;

  beforeEach(async () => {
    source = await tempSource();
  });

  afterEach(async () => {
    await source.cleanup();
  });

  async function failure(store: { reload(): Promise<unknown> }): Promise<S3SyncError> {
    return (await store.reload().catch((e: unknown) => e)) as S3SyncError;
  }

  describe('maxBytes', () => {
    it.skipIf(process.platform === 'win32')(
      'stops reading a pipe one byte past the limit instead of reading it to its end',
      async () => {
        const fifo = join(source.dir, 'endless.json');
        await promisify(execFile)('mkfifo', [fifo]);
        const store = new JsonFileStore({ path: fifo, maxBytes: 1024 });
        const reading = failure(store);
        // The writer offers 64 MiB; the kernel takes no more than the reader consumes plus the
        // pipe's buffer, and refuses the rest (EPIPE) once the reader has closed the pipe.
        const writer = await open(fifo, 'w');
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let written = 0;
        try {
          while (written < 64 * MiB) written += (await writer.write(chunk)).bytesWritten;
        } catch (error) {
          expect(error).toMatchObject({ code: 'EPIPE' });
        } finally {
          await writer.close();
        }
        const error = await reading;
        expect(error).toMatchObject({ code: 'ERR_TOO_LARGE', maxBytes: 1024, path: fifo });
        expect(written).toBeLessThan(4 * MiB);
      },
    );

    it('refuses a file over maxBytes before reading it', async () => {
      await source.setSource(registry(1, 100));
      const error = await failure(new JsonFileStore({ path: source.path, maxBytes: 100 }));
      expect(error).toMatchObject({ code: 'ERR_TOO_LARGE', maxBytes: 100 });
    });

    it('accepts a file of exactly maxBytes', async () => {
      const text = registry(1);
      await source.setSource(text);
      const store = new JsonFileStore({ path: source.path, maxBytes: Buffer.byteLength(text) });
      expect((await store.load()).data).toStrictEqual(JSON.parse(text));
    });
  });

  it('decodes a large file with multi-byte characters across every slice boundary', async () => {
    // 1-, 2-, 3- and 4-byte characters in a cycle of 10 bytes: some character straddles each
    // 512 KiB boundary at each of its possible offsets over the 3 MiB.
    const value = 'a\u00e9\u20ac\u{1f680}'.repeat(300_000);
    const data = { servers: [{ name: value }], n: 1 };
    await source.setSource(JSON.stringify(data));
    const snapshot = await new JsonFileStore({ path: source.path }).load();
    expect(snapshot.data).toStrictEqual(data);
  });

  describe('file-system failures', () => {
    it('a directory → ERR_FILE_SYSTEM with errno EISDIR, not ERR_PARSE', async () => {
      const dir = join(source.dir, 'a-directory');
      await mkdir(dir);
      const error = await failure(new JsonFileStore({ path: dir }));
      expect(error).toMatchObject({ code: 'ERR_FILE_SYSTEM', errno: 'EISDIR', path: dir });
    });

    it('a directory as a stage candidate → ERR_FILE_SYSTEM', async () => {
      await source.setSource(registry(1));
      const store = new JsonFileStore({ path: source.path });
      await store.load();
      const error = await store.stage(source.dir).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_FILE_SYSTEM', errno: 'EISDIR' });
    });

    it.each([
      ['EISDIR', 'ERR_FILE_SYSTEM'],
      ['EIO', 'ERR_FILE_SYSTEM'],
      ['EMFILE', 'ERR_FILE_SYSTEM'],
      ['ENOENT', 'ERR_NOT_FOUND'],
    ])('a createReloadableStore loader failing with %s → %s', async (errno, code) => {
      const cause = Object.assign(new Error(`${errno}: read`), { code: errno, syscall: 'read' });
      const store = createReloadableStore({ load: () => Promise.reject(cause) });
      await expect(store.load()).rejects.toMatchObject({ code, cause });
    });
  });

  describe('prototype keys and escapes', () => {
    it.each([
      ['an escaped constructor.prototype', '{"servers": [], "\\u0063onstructor": {"prototype": {"polluted": true}}}'],
      ['an escaped prototype', '{"servers": [], "constructor": {"\\u0070rototype": {"polluted": true}}}'],
      ['an upper-case escape', '{"servers": [], "\\u005F_proto__": {"polluted": true}}'],
      ['a fully escaped __proto__', '{"\\u005f\\u005f\\u0070\\u0072\\u006f\\u0074\\u006f\\u005f\\u005f": {}}'],
    ])('refuses %s', async (_what, json) => {
      await source.setSource(json);
      const error = await failure(new JsonFileStore({ path: source.path }));
      expect(error).toMatchObject({ code: 'ERR_PARSE', message: /forbidden/ });
    });

    it('accepts escapes of non-ASCII characters, as Python writes them', async () => {
      const data = { servers: [{ name: 'caf\u00e9 \u4e2d\u6587 \ud83d\ude80', note: 'a "quoted" \\ path\n' }] };
      const text = JSON.stringify(data).replace(
        /[^\x20-\x7e]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      );
      expect(text).toContain('\\u00e9');
      await source.setSource(text);
      expect((await new JsonFileStore({ path: source.path }).load()).data).toStrictEqual(data);
    });

    it('accepts "prototype" and "constructor" as words in values', async () => {
      const data = { servers: [{ name: 'a', description: 'a prototype of a constructor for __init__' }] };
      await source.setSource(JSON.stringify(data));
      expect((await new JsonFileStore({ path: source.path }).load()).data).toStrictEqual(data);
    });
  });
});

describe('createReloadableStore prototype keys', () => {
  it('refuses loaded data with a __proto__ key (ERR_PARSE) and keeps the last good data', async () => {
    let text = '{"n": 1}';
    const store = createReloadableStore({ load: async () => JSON.parse(text) });
    await store.load();
    text = '{"n": 2, "nested": [{"__proto__": {"polluted": true}}]}';
    await expect(store.reload()).rejects.toMatchObject({ code: 'ERR_PARSE', message: /__proto__/ });
    expect(store.get()).toStrictEqual({ n: 1 });
  });

  it('refuses a candidate from a custom reader with a constructor.prototype key', async () => {
    const store = createReloadableStore({
      load: async () => ({ n: 1 }),
      readCandidate: async () => JSON.parse('{"constructor": {"prototype": {"x": 1}}}'),
    });
    await store.load();
    await expect(store.stage('candidate.json')).rejects.toMatchObject({ code: 'ERR_PARSE', path: 'candidate.json' });
  });

  it('checks data with shared objects and cycles, and publishes it', async () => {
    const shared = { name: 'shared' };
    const data: Record<string, unknown> = { a: shared, b: shared };
    data.self = data;
    const store = createReloadableStore({ load: async () => data });
    expect((await store.load()).data).toBe(data);
  });
});
