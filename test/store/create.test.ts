import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createReloadableStore } from '../../src/index.ts';
import { type Registry, registry, storeContract, tempSource, validateRegistry } from '../../src/testing/index.ts';

storeContract(
  'createReloadableStore',
  async () => {
    const source = await tempSource();
    // A loader as a user would write it: no help from this package in reading or parsing.
    const store = createReloadableStore<Registry>({
      load: async (signal) => JSON.parse(await readFile(source.path, { encoding: 'utf8', signal })),
      validate: validateRegistry,
      onListenerError: () => {},
    });
    return { ...source, store };
  },
  { describe, it },
);

describe('createReloadableStore', () => {
  it('reports a loader failure that is not about a file as ERR_LOAD, with the cause', async () => {
    const down = new Error('connection refused by db-1');
    const store = createReloadableStore({ load: () => Promise.reject(down) });
    await expect(store.load()).rejects.toMatchObject({ code: 'ERR_LOAD', cause: down });
  });

  it.each([
    ['ENOENT', 'ERR_NOT_FOUND'],
    ['ENOTDIR', 'ERR_NOT_FOUND'],
    ['EACCES', 'ERR_ACCESS_DENIED'],
    ['EPERM', 'ERR_ACCESS_DENIED'],
  ])('maps a loader failing with %s to %s, as the JSON file reader does', async (errno, code) => {
    const failure = Object.assign(new Error(`${errno}: /var/lib/registry/registry.json`), { code: errno });
    const store = createReloadableStore({ load: () => Promise.reject(failure) });
    await expect(store.load()).rejects.toMatchObject({ code, cause: failure });
  });

  it('aborts the loader when the store closes', async () => {
    let seen: AbortSignal | undefined;
    const store = createReloadableStore({
      load: (signal) =>
        new Promise((_resolve, reject) => {
          seen = signal;
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
    });
    const loading = store.load();
    await store.close();
    expect(seen?.aborted).toBe(true);
    await expect(loading).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('stages candidates with a custom reader', async () => {
    const store = createReloadableStore<Registry>({
      load: async () => JSON.parse(registry(1)),
      readCandidate: async (path) => JSON.parse(registry(Number(path))),
    });
    await store.load();
    expect((await store.stage('7')).data.n).toBe(7);
  });

  it('refuses a missing load function', () => {
    expect(() => createReloadableStore({} as never)).toThrow(TypeError);
  });

  it('uses a JSON file reader for candidates by default', async () => {
    const source = await tempSource();
    try {
      const store = createReloadableStore<Registry>({ load: async () => JSON.parse(registry(1)) });
      await store.load();
      const staged = await store.stage(await source.candidate(registry(3)));
      expect(staged.data.n).toBe(3);
    } finally {
      await source.cleanup();
    }
  });
});
