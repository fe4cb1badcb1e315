import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type } from 'arktype';
import * as v from 'valibot';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createReloadableStore, createS3Sync, JsonFileStore, type S3SyncError } from '../../src/index.ts';
import { registry, type TempSource, tempSource } from '../../src/testing/index.ts';

describe('validate', () => {
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

  // Three Standard Schema libraries; ArkType's `type` is a function, the others are objects.
  const schemas = [
    ['zod 4', z.object({ n: z.number(), servers: z.array(z.object({ name: z.string(), n: z.number() })) })],
    ['valibot', v.object({ n: v.number(), servers: v.array(v.object({ name: v.string(), n: v.number() })) })],
    ['arktype', type({ n: 'number', servers: type({ name: 'string', n: 'number' }).array() })],
  ] as const;

  describe.each(schemas)('with a %s schema', (_library, schema) => {
    it('publishes the schema output', async () => {
      await source.setSource(registry(4));
      const snapshot = await new JsonFileStore({ path: source.path, validate: schema }).load();
      expect(snapshot.data).toStrictEqual(JSON.parse(registry(4)));
    });

    it('refuses invalid data with ERR_VALIDATION and the issue paths, publishing nothing', async () => {
      await source.setSource('{"n": 1, "servers": [{"name": "a", "n": "x"}]}');
      const store = new JsonFileStore({ path: source.path, validate: schema });
      const error = await failure(store);
      expect(error.code).toBe('ERR_VALIDATION');
      const issues = (error as unknown as { issues: { path?: PropertyKey[] }[] }).issues;
      expect(issues.map((issue) => issue.path)).toStrictEqual([['servers', 0, 'n']]);
      expect(store.health()).toMatchObject({ ready: false, version: 0 });
    });
  });

  it('treats a function carrying ~standard as a schema, not as a plain validator', async () => {
    const calledAsFunction: unknown[] = [];
    const schema = Object.assign((data: unknown) => calledAsFunction.push(data), {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: (value: unknown) => ({ value: { wrapped: value } }),
      },
    });
    const store = createReloadableStore({ load: async () => 1, validate: schema });
    expect((await store.load()).data).toStrictEqual({ wrapped: 1 });
    expect(calledAsFunction).toStrictEqual([]);
  });

  describe('with a plain function (the contract: return the data, or throw)', () => {
    it.each([
      ['false, as an Ajv-style validator reports invalid data', () => false],
      ['true, as a type guard does', () => true],
      ['nothing, as an assertion function does', () => undefined],
      ['a promise of nothing', async () => undefined],
    ])('refuses %s with ERR_VALIDATION', async (_what, validate) => {
      await source.setSource(registry(1));
      const store = new JsonFileStore({ path: source.path, validate: validate as (data: unknown) => unknown });
      const error = await failure(store);
      expect(error).toMatchObject({ code: 'ERR_VALIDATION', message: /must return the data/ });
      expect(store.health()).toMatchObject({ ready: false, consecutiveFailures: 1 });
    });

    it('publishes what it returns, a replacement included', async () => {
      await source.setSource(registry(2));
      const store = new JsonFileStore({ path: source.path, validate: (data) => ({ wrapped: data }) });
      expect((await store.load()).data).toStrictEqual({ wrapped: JSON.parse(registry(2)) });
    });

    it('publishes falsy data that is not a boolean (0, an empty string, null)', async () => {
      for (const value of [0, '', null]) {
        const store = createReloadableStore({ load: async () => value, validate: (data) => data });
        expect((await store.load()).data).toBe(value);
      }
    });
  });

  // Checked by the type checker (npm run typecheck), not at run time: the data's type is the
  // schema's output, for the callable ArkType `type` too (inferred through its call, it would
  // include the ArkErrors it returns).
  it('types the data as the schema output, for every Standard Schema library and a function', () => {
    interface Servers {
      servers: string[];
    }
    const ark = type({ servers: 'string[]' });
    const zod = z.object({ servers: z.array(z.string()) });
    const path = source.path;
    expectTypeOf(new JsonFileStore({ path, validate: ark }).get).returns.toEqualTypeOf<Servers>();
    expectTypeOf(new JsonFileStore({ path, validate: zod }).get).returns.toEqualTypeOf<Servers>();
    expectTypeOf(new JsonFileStore({ path, validate: (data) => data as Servers }).get).returns.toEqualTypeOf<Servers>();
    expectTypeOf(
      new JsonFileStore({ path, validate: async (data) => data as Servers }).get,
    ).returns.toEqualTypeOf<Servers>();
    expectTypeOf(new JsonFileStore({ path }).get).returns.toEqualTypeOf<unknown>();
    expectTypeOf(createReloadableStore({ load: async () => ({}), validate: ark }).get).returns.toEqualTypeOf<Servers>();
    const sync = createS3Sync({
      sqs: { client: new SQSClient({ region: 'us-east-1' }), queueUrl: 'https://sqs.us-east-1.amazonaws.com/1/q' },
      s3: { client: new S3Client({ region: 'us-east-1' }) },
      target: path,
      source: 's3://bucket-name/key.json',
      validate: ark,
    });
    expectTypeOf(sync.store.get).returns.toEqualTypeOf<Servers>();
    expect(sync.state).toBe('idle');
  });
});
