import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args.ts';
import { compileSchema } from '../../src/cli/schema.ts';
import { createCliStore } from '../../src/cli/store.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-schema-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const servers = (draft: string) => ({
  $schema: draft,
  type: 'object',
  required: ['servers'],
  properties: { servers: { type: 'array', items: { type: 'object', required: ['name'], example: { name: 'x' } } } },
});

describe('compileSchema', () => {
  it.each([
    'https://json-schema.org/draft/2020-12/schema',
    'https://json-schema.org/draft/2019-09/schema',
    'http://json-schema.org/draft-07/schema#',
    'http://json-schema.org/draft-06/schema#',
  ])('gives Ajv errors as issues with a path (%s)', async (draft) => {
    const path = join(dir, 'schema.json');
    await writeFile(path, JSON.stringify(servers(draft)));
    const check = await compileSchema(path);
    expect(check({ servers: [{ name: 'a' }] })).toBeUndefined();
    expect(check({ servers: [{ name: 'a' }, { title: 'b' }] })).toEqual([
      { message: "must have required property 'name'", path: ['servers', 1] },
    ]);
  });

  it('refuses an unreadable or invalid schema with a usage error', async () => {
    await expect(compileSchema(join(dir, 'missing.json'))).rejects.toThrow(UsageError);
    const path = join(dir, 'bad.json');
    await writeFile(path, JSON.stringify({ type: 'no-such-type' }));
    await expect(compileSchema(path)).rejects.toThrow(/is not a valid JSON Schema/);
  });
});

describe('createCliStore', () => {
  it('refuses a candidate the schema rejects with ERR_VALIDATION and its issues, and keeps no data in memory', async () => {
    const schemaPath = join(dir, 'schema.json');
    await writeFile(schemaPath, JSON.stringify(servers('https://json-schema.org/draft/2020-12/schema')));
    const target = join(dir, 'registry.json');
    await writeFile(target, JSON.stringify({ servers: [{ name: 'a' }] }));
    const store = createCliStore({ target, format: 'json', schema: await compileSchema(schemaPath) });
    await store.load();
    expect(store.get()).toEqual({ format: 'json' });
    const candidate = join(dir, 'candidate.json');
    await writeFile(candidate, JSON.stringify({ servers: [{}] }));
    await expect(store.stage(candidate)).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
      issues: [{ message: "must have required property 'name'", path: ['servers', 0] }],
    });
    await store.close();
  });
});
