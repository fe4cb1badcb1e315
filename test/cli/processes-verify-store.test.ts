import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileSchema } from '../../src/cli/schema.ts';
import { createCliStore } from '../../src/cli/store.ts';

let dir: string;
let target: string;
let schemaPath: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-verify-store-'));
  target = join(dir, 'registry.json');
  schemaPath = join(dir, 'schema.json');
  await writeFile(schemaPath, JSON.stringify({ type: 'object', required: ['servers'] }));
  await writeFile(target, JSON.stringify({ servers: [] }));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function storeWith(command: string, timeoutMs = 10_000) {
  const store = createCliStore({
    target,
    format: 'json',
    schema: await compileSchema(schemaPath),
    verify: { command, timeoutMs, target },
  });
  await store.load();
  return store;
}

describe('createCliStore with --verify-cmd', () => {
  it('refuses a candidate the verify command changed, even when the command exits 0', async () => {
    const store = await storeWith('printf "NOT JSON {" > {path} 2>/dev/null; true');
    const candidate = join(dir, 'candidate.json');
    await writeFile(candidate, JSON.stringify({ servers: [{ name: 'a' }] }));
    await chmod(candidate, 0o640);
    await expect(store.stage(candidate)).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    await store.close();
  });

  it('refuses a candidate the command replaced with a file of the same size', async () => {
    const store = await storeWith(
      'cp {path} "$1.x" && printf "%s" \'{"servers":[{"name":"b"}]}\' > "$1.x" && mv "$1.x" {path}',
    );
    const candidate = join(dir, 'candidate.json');
    await writeFile(candidate, JSON.stringify({ servers: [{ name: 'a' }] }));
    await expect(store.stage(candidate)).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
      message: expect.stringMatching(/changed the candidate/),
    });
    await store.close();
  });

  it('refuses a candidate rewritten in place with the same size and its mtime put back', async () => {
    const rewrite = `cp -p {path} "$1.ref"; printf '%s' '{"servers":[{"name":"b"}]}' > {path}; touch -r "$1.ref" {path}; rm "$1.ref"`;
    const store = await storeWith(rewrite);
    const candidate = join(dir, 'candidate.json');
    await writeFile(candidate, JSON.stringify({ servers: [{ name: 'a' }] }));
    await expect(store.stage(candidate)).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
      message: expect.stringMatching(/changed the candidate/),
    });
    await store.close();
  });

  it('runs the command on a read-only candidate, then restores the mode the download gave it before the parse', async () => {
    const seen = join(dir, 'mode.txt');
    const store = await storeWith(`stat -c %a {path} > '${seen}'`);
    const candidate = join(dir, 'candidate.json');
    await writeFile(candidate, JSON.stringify({ servers: [{ name: 'a' }] }));
    await chmod(candidate, 0o640);
    const staged = await store.stage(candidate);
    expect(await readFile(seen, 'utf8')).toBe('400\n');
    expect((await stat(candidate)).mode & 0o7777).toBe(0o640);
    staged.publish();
    await store.close();
  });

  it('checks the schema after the verify command: the parse reads the bytes that will be renamed', async () => {
    const order = join(dir, 'order.txt');
    const store = await storeWith(`echo verify >> '${order}' # {path}`);
    const candidate = join(dir, 'candidate.json');
    await writeFile(candidate, JSON.stringify({ other: true }));
    await expect(store.stage(candidate)).rejects.toMatchObject({ code: 'ERR_VALIDATION', issues: [expect.anything()] });
    // The verify command ran although the schema refuses the file: it runs first.
    expect(await readFile(order, 'utf8')).toBe('verify\n');
    await store.close();
  });

  it('abort() kills a running verify command and makes the stage reject with ERR_CLOSED', async () => {
    const started = join(dir, 'started');
    const store = await storeWith(`touch '${started}'; sleep 60 # {path}`, 60_000);
    const candidate = join(dir, 'candidate.json');
    await writeFile(candidate, JSON.stringify({ servers: [] }));
    await chmod(candidate, 0o600);
    const staged = store.stage(candidate);
    await expect
      .poll(
        () =>
          stat(started).then(
            () => true,
            () => false,
          ),
        { timeout: 10_000 },
      )
      .toBe(true);
    store.abort();
    await expect(staged).rejects.toMatchObject({ code: 'ERR_CLOSED', message: expect.stringMatching(/stopping/) });
    expect((await stat(candidate)).mode & 0o7777).toBe(0o600);
    await expect(store.stage(candidate)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await store.close();
  });
});
