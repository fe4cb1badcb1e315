import { describe, expect, it } from 'vitest';
import { createReloadableStore, JsonFileStore } from '../../src/index.ts';
import { registry, tempSource } from '../../src/testing/index.ts';

/** A loader whose calls wait until the test lets each one finish, counting how many overlap. */
function gatedLoader() {
  const gates: (() => void)[] = [];
  let calls = 0;
  let running = 0;
  let maxRunning = 0;
  const started: (() => void)[] = [];
  return {
    get calls() {
      return calls;
    },
    get maxRunning() {
      return maxRunning;
    },
    load: async () => {
      const n = ++calls;
      running++;
      maxRunning = Math.max(maxRunning, running);
      for (const notify of started.splice(0)) notify();
      await new Promise<void>((resolve) => gates.push(resolve));
      running--;
      return { n };
    },
    /** Resolves when a load is waiting at its gate. */
    waiting(): Promise<void> {
      if (gates.length > 0) return Promise.resolve();
      return new Promise((resolve) => started.push(resolve));
    },
    release(): void {
      gates.shift()?.();
    },
  };
}

describe('StoreCore', () => {
  describe('single flight', () => {
    it('a caller that reloads as its own read settles joins the next read, never a second one beside it', async () => {
      const loader = gatedLoader();
      const store = createReloadableStore<{ n: number }>({ load: loader.load });
      const first = store.reload();
      // Registered before the queued call below: it runs as soon as the first read settles.
      const again = first.then(() => store.reload());
      const queued = store.reload();
      await loader.waiting();
      loader.release(); // read 1 settles; read 2 (for `queued`) starts
      await loader.waiting();
      loader.release(); // read 2 settles; read 3 (for `again`) starts
      await loader.waiting();
      loader.release();
      expect((await first).data.n).toBe(1);
      expect((await queued).data.n).toBe(2);
      expect((await again).data.n).toBe(3);
      expect(loader.maxRunning).toBe(1);
      expect(loader.calls).toBe(3);
    });

    it('a read queued behind a running one never calls load() once the store is closed', async () => {
      const loader = gatedLoader();
      const store = createReloadableStore<{ n: number }>({ load: loader.load });
      const first = store.load();
      const queued = store.reload();
      await loader.waiting();
      const closing = store.close();
      loader.release();
      await closing;
      await expect(first).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      await expect(queued).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      expect(loader.calls).toBe(1);
      expect(store.health()).toMatchObject({ consecutiveFailures: 0 });
    });
  });

  describe('staged updates', () => {
    it('refuses to publish a stage over a newer reload: version and data stay with the disk', async () => {
      const source = await tempSource();
      try {
        await source.setSource(registry(1));
        const store = new JsonFileStore<{ n: number }>({ path: source.path });
        await store.load();
        const staged = await store.stage(await source.candidate(registry(2)));
        await source.setSource(registry(3));
        const newer = await store.reload();
        expect(() => staged.publish()).toThrow(
          expect.objectContaining({ name: 'StaleUpdateError', reason: 'superseded' }),
        );
        expect(store.snapshot()).toBe(newer);
        expect(store.snapshot()).toMatchObject({ version: 2, data: { n: 3 } });
        // Refused, and so not published: a later attempt is refused for the same reason.
        expect(() => staged.publish()).toThrow(
          expect.objectContaining({ code: 'ERR_STALE_UPDATE', reason: 'superseded' }),
        );
        await store.close();
      } finally {
        await source.cleanup();
      }
    });
  });

  describe('freeze: true', () => {
    it('freezes nested data below an object that was already frozen', async () => {
      const inner = { list: [{ name: 'a' }] };
      const store = createReloadableStore({
        load: async () => ({}),
        validate: () => Object.freeze({ inner }),
        freeze: true,
      });
      const { data } = await store.load();
      expect(Object.isFrozen(data.inner)).toBe(true);
      expect(Object.isFrozen(data.inner.list)).toBe(true);
      expect(Object.isFrozen(data.inner.list[0])).toBe(true);
    });

    it('publishes data holding a Buffer or typed array, freezing everything else', async () => {
      const store = createReloadableStore({
        load: async () => ({}),
        validate: () => ({ blob: Buffer.from('abc'), floats: new Float64Array(2), meta: { tags: ['x'] } }),
        freeze: true,
      });
      const { data } = await store.load();
      expect(Object.isFrozen(data)).toBe(true);
      expect(Object.isFrozen(data.meta.tags)).toBe(true);
      expect(data.blob.toString()).toBe('abc');
    });

    it('freezes the values held in a Map or Set and copes with cycles', async () => {
      const value = { name: 'a' };
      const data: Record<string, unknown> = { map: new Map([['k', value]]), set: new Set([{ x: 1 }]) };
      data.self = data;
      const store = createReloadableStore({ load: async () => data, freeze: true });
      await store.load();
      expect(Object.isFrozen(value)).toBe(true);
      expect(Object.isFrozen([...(data.set as Set<object>)][0])).toBe(true);
      expect(Object.isFrozen(data)).toBe(true);
    });
  });
});
