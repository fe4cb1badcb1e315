import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { JsonFileStore, type S3SyncError } from '../../src/index.ts';
import {
  type Registry,
  registry,
  storeContract,
  type TempSource,
  tempSource,
  validateRegistry,
} from '../../src/testing/index.ts';

// The shipped contract (`s3-sqs-sync/testing`), run with vitest's own describe and it.
storeContract(
  'JsonFileStore',
  async () => {
    const source = await tempSource();
    const store = new JsonFileStore<Registry>({
      path: source.path,
      validate: validateRegistry,
      onListenerError: () => {},
    });
    return { ...source, store };
  },
  { describe, it },
);

describe('JsonFileStore', () => {
  let source: TempSource;

  beforeEach(async () => {
    source = await tempSource();
  });

  afterEach(async () => {
    await source.cleanup();
  });

  async function failure(store: JsonFileStore<unknown>): Promise<S3SyncError> {
    return (await store.reload().catch((e: unknown) => e)) as S3SyncError;
  }

  describe('refuses bad files with the code for each', () => {
    it.each([
      ['invalid JSON', '{"a": }', 'ERR_PARSE', /not valid JSON/],
      ['an empty file', '', 'ERR_PARSE', /is empty/],
      ['a whitespace-only file', ' \n\t', 'ERR_PARSE', /is empty/],
      ['a truncated file', '{"servers": [{"name": "a"', 'ERR_PARSE', /not valid JSON/],
      ['a byte order mark', Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), 'ERR_PARSE', /byte order mark/],
      ['bytes that are not UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), 'ERR_PARSE', /not valid UTF-8/],
      ['a missing file', null, 'ERR_NOT_FOUND', /does not exist/],
    ])('%s → %s', async (_what, content, code, message) => {
      await source.setSource(content);
      const error = await failure(new JsonFileStore({ path: source.path }));
      expect(error).toMatchObject({ code, path: source.path });
      expect(error.message).toMatch(message);
    });

    it('a file over maxBytes → ERR_TOO_LARGE, before reading it', async () => {
      await source.setSource(registry(1, 100));
      const error = await failure(new JsonFileStore({ path: source.path, maxBytes: 100 }));
      expect(error).toMatchObject({ code: 'ERR_TOO_LARGE', maxBytes: 100 });
      expect((error as unknown as { bytes: number }).bytes).toBeGreaterThan(100);
    });

    it('a validation failure → ERR_VALIDATION with the issues', async () => {
      await source.setSource('{"n": 1, "servers": "none"}');
      const error = await failure(new JsonFileStore({ path: source.path, validate: validateRegistry }));
      expect(error).toMatchObject({ code: 'ERR_VALIDATION', issues: [{ message: 'servers must be an array' }] });
    });
  });

  it('accepts a byte order mark with allowBom', async () => {
    await source.setSource(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(registry(1))]));
    const store = new JsonFileStore<Registry>({ path: source.path, allowBom: true });
    expect((await store.load()).data.n).toBe(1);
  });

  describe('validate with a Standard Schema (zod 4)', () => {
    const Schema = z.object({
      n: z.number(),
      servers: z.array(z.object({ name: z.string().min(1), n: z.number() })),
    });

    it('publishes the schema output', async () => {
      await source.setSource(registry(4));
      const store = new JsonFileStore({ path: source.path, validate: Schema });
      const snapshot = await store.load();
      expect(snapshot.data.servers[0]?.name).toBe('server-0');
    });

    it('refuses invalid data with every issue and its path', async () => {
      await source.setSource('{"n": 1, "servers": [{"name": "", "n": 1}, {"n": "x"}]}');
      const error = await failure(new JsonFileStore({ path: source.path, validate: Schema }));
      expect(error.code).toBe('ERR_VALIDATION');
      const issues = (error as unknown as { issues: { path?: PropertyKey[] }[] }).issues;
      expect(issues.map((issue) => issue.path)).toStrictEqual([
        ['servers', 0, 'name'],
        ['servers', 1, 'name'],
        ['servers', 1, 'n'],
      ]);
      expect(error.message).toMatch(/at servers\.0\.name/);
    });
  });

  describe('prototype pollution', () => {
    it.each([
      ['__proto__', '{"servers": [], "__proto__": {"polluted": true}}'],
      ['a nested __proto__', '{"servers": [{"name": "a", "__proto__": {"polluted": true}}]}'],
      ['an escaped __proto__', '{"servers": [], "\\u005f_proto__": {"polluted": true}}'],
      ['constructor.prototype', '{"servers": [], "constructor": {"prototype": {"polluted": true}}}'],
    ])('refuses %s and pollutes nothing', async (_what, json) => {
      await source.setSource(json);
      const error = await failure(new JsonFileStore({ path: source.path }));
      expect(error).toMatchObject({ code: 'ERR_PARSE' });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it('accepts an ordinary "constructor" field', async () => {
      await source.setSource('{"servers": [{"name": "a", "constructor": "builder"}]}');
      const snapshot = await new JsonFileStore({ path: source.path }).load();
      expect(snapshot.data).toStrictEqual({ servers: [{ name: 'a', constructor: 'builder' }] });
    });
  });

  it('deep-freezes data with freeze: true', async () => {
    await source.setSource(registry(1));
    const store = new JsonFileStore<Registry>({ path: source.path, freeze: true });
    const { data } = await store.load();
    expect(Object.isFrozen(data)).toBe(true);
    expect(Object.isFrozen(data.servers[0])).toBe(true);
    expect(() => {
      (data.servers as unknown as { name: string }[]).push({ name: 'x' });
    }).toThrow(TypeError);
  });

  it('reports its absolute path in snapshots and errors', async () => {
    await source.setSource(registry(1));
    const store = new JsonFileStore<Registry>({ path: join(source.dir, '.', 'registry.json') });
    expect(store.path).toBe(source.path);
    expect((await store.load()).source).toStrictEqual({ path: source.path });
  });

  it('publishes a staged candidate under its own path', async () => {
    await source.setSource(registry(1));
    const store = new JsonFileStore<Registry>({ path: source.path });
    await store.load();
    const candidate = join(source.dir, '.registry.json.0123456789abcdef.s3-sqs-sync.tmp');
    await writeFile(candidate, registry(2));
    const snapshot = (await store.stage(candidate, { etag: '"e2"', versionId: 'v2' })).publish();
    expect(snapshot.source).toStrictEqual({ path: source.path, etag: '"e2"', versionId: 'v2' });
  });

  it.each([
    [{ path: '' }, TypeError, /path/],
    [{ path: 'x.json', maxBytes: 0 }, RangeError, /maxBytes/],
    [{ path: 'x.json', validate: 42 }, TypeError, /validate/],
  ])('refuses options %j', (options, type, message) => {
    expect(() => new JsonFileStore(options as never)).toThrow(type);
    expect(() => new JsonFileStore(options as never)).toThrow(message);
  });
});
