import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReloadableStore, JsonFileStore, type S3SyncError } from '../../src/index.ts';
import { type Registry, registry, type TempSource, tempSource, validateRegistry } from '../../src/testing/index.ts';

describe('store event listeners', () => {
  let source: TempSource;
  const unexpected: unknown[] = [];
  const record = (error: unknown) => unexpected.push(error);

  beforeEach(async () => {
    source = await tempSource();
    await source.setSource(registry(1));
    unexpected.length = 0;
    process.on('uncaughtException', record);
    process.on('unhandledRejection', record);
  });

  afterEach(async () => {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
    await source.cleanup();
  });

  it('a throwing reload_failed listener: the next one still runs, the store keeps its data, onListenerError is told', async () => {
    const reports: [unknown, string][] = [];
    const store = new JsonFileStore<Registry>({
      path: source.path,
      validate: validateRegistry,
      onListenerError: (error, event) => reports.push([error, event]),
    });
    const good = await store.load();
    const bug = new Error('logger is broken');
    const seen: S3SyncError[] = [];
    store.on('reload_failed', () => {
      throw bug;
    });
    store.on('reload_failed', (error) => seen.push(error));

    await source.setSource('{"n": 2, "servers": [');
    const error = await store.reload().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PARSE' });
    expect(seen).toStrictEqual([error]);
    expect(reports).toStrictEqual([[bug, 'reload_failed']]);
    expect(store.snapshot()).toBe(good);
    expect(store.health()).toMatchObject({ ready: true, version: 1, consecutiveFailures: 1 });

    await source.setSource(registry(2));
    expect((await store.reload()).version).toBe(2);
    expect(unexpected).toStrictEqual([]);
  });

  it('an async listener that rejects is reported, never an unhandled rejection', async () => {
    let reported!: (value: [unknown, string]) => void;
    const report = new Promise<[unknown, string]>((resolve) => {
      reported = resolve;
    });
    const store = createReloadableStore({
      load: async () => 1,
      onListenerError: (error, event) => reported([error, event]),
    });
    const bug = new Error('async sink is down');
    const after: number[] = [];
    store.on('reloaded', async () => {
      throw bug;
    });
    store.on('reloaded', (snapshot) => after.push(snapshot.version));
    const snapshot = await store.load();
    expect(await report).toStrictEqual([bug, 'reloaded']);
    expect(after).toStrictEqual([1]);
    expect(store.snapshot()).toBe(snapshot);
    expect(unexpected).toStrictEqual([]);
  });

  it('by default reports a throwing listener as a process warning', async () => {
    const store = new JsonFileStore<Registry>({ path: source.path, validate: validateRegistry });
    store.on('reloaded', () => {
      throw new Error('metrics exporter is broken');
    });
    const warned = once(process, 'warning');
    await store.load();
    const [warning] = (await warned) as [Error & { code?: string }];
    expect(warning).toMatchObject({ name: 'S3SyncListenerWarning', code: 'S3_SYNC_LISTENER_THREW' });
    expect(warning.message).toMatch(/'reloaded'.*metrics exporter is broken/);
    expect(store.get().n).toBe(1);
    expect(unexpected).toStrictEqual([]);
  });

  it.each([[42], ['log']])('refuses onListenerError %j', (value) => {
    expect(() => new JsonFileStore({ path: source.path, onListenerError: value as never })).toThrow(TypeError);
    expect(() => createReloadableStore({ load: async () => 1, onListenerError: value as never })).toThrow(
      /onListenerError/,
    );
  });
});
