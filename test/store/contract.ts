import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isS3SyncError, type ReloadableStore, type S3SyncError, type StoreSnapshot } from '../../src/index.ts';

/** The registry shape the contract publishes: `n` ties every field to one version of the file. */
export interface Registry {
  readonly n: number;
  readonly servers: readonly { readonly name: string; readonly n: number }[];
}

export function registry(n: number, servers = 3): string {
  return JSON.stringify({ n, servers: Array.from({ length: servers }, (_, i) => ({ name: `server-${i}`, n })) });
}

/** What the contract needs from one implementation. */
export interface StoreHarness {
  readonly store: ReloadableStore<Registry>;
  /** Replaces the store's source with these bytes (`null`: removes it). */
  setSource(content: string | Buffer | null): Promise<void>;
  /** Writes a candidate file for `stage()` and returns its path. */
  candidate(content: string): Promise<string>;
  cleanup(): Promise<void>;
}

/** Validation every harness must apply: `servers` is an array whose entries carry `n`. */
export function validateRegistry(data: unknown): Registry {
  const value = data as Partial<Registry> | null;
  if (typeof value?.n !== 'number' || !Array.isArray(value.servers)) throw new Error('servers must be an array');
  for (const server of value.servers) {
    if (server.n !== value.n) throw new Error(`server ${server.name} belongs to version ${server.n}`);
  }
  return value as Registry;
}

/** Sources every implementation must refuse while keeping its last good snapshot. */
const BAD_SOURCES: readonly [string, string | Buffer | null][] = [
  ['invalid JSON', '{"n": 2, servers: []}'],
  ['an empty file', ''],
  ['a truncated file', registry(2).slice(0, 20)],
  ['a file with a byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(registry(2))])],
  ['data that fails validation', JSON.stringify({ n: 2, servers: 'nope' })],
  ['a missing file', null],
];

/** Runs the shared contract against one `ReloadableStore` implementation. */
export function storeContract(name: string, create: () => Promise<StoreHarness>): void {
  describe(`${name} (ReloadableStore contract)`, () => {
    let h: StoreHarness;

    beforeEach(async () => {
      h = await create();
      await h.setSource(registry(1));
    });

    afterEach(async () => {
      await h.store.close();
      await h.cleanup();
    });

    describe('.load', () => {
      it('publishes version 1 and becomes ready', async () => {
        const snapshot = await h.store.load();
        expect(snapshot.version).toBe(1);
        expect(snapshot.data.n).toBe(1);
        expect(snapshot.loadedAt).toBeInstanceOf(Date);
        expect(h.store.get()).toBe(snapshot.data);
        expect(h.store.snapshot()).toBe(snapshot);
        expect(h.store.health()).toMatchObject({ ready: true, version: 1, consecutiveFailures: 0 });
      });

      it('is not ready before it: get() throws ERR_NOT_READY', () => {
        expect(() => h.store.get()).toThrow(expect.objectContaining({ code: 'ERR_NOT_READY' }));
        expect(h.store.health()).toStrictEqual({ ready: false, version: 0, consecutiveFailures: 0 });
      });

      it('rejects with a typed error and stays not ready when the source is bad', async () => {
        await h.setSource('{');
        const error = await h.store.load().catch((e: unknown) => e);
        expect(isS3SyncError(error)).toBe(true);
        expect(h.store.health()).toMatchObject({ ready: false, version: 0, consecutiveFailures: 1 });
      });
    });

    describe('.reload', () => {
      it('publishes a new version and emits reloaded with the previous snapshot', async () => {
        const first = await h.store.load();
        const events: [StoreSnapshot<Registry>, StoreSnapshot<Registry> | undefined][] = [];
        h.store.on('reloaded', (snapshot, previous) => events.push([snapshot, previous]));
        await h.setSource(registry(2));
        const second = await h.store.reload();
        expect(second.version).toBe(2);
        expect(h.store.get().n).toBe(2);
        expect(events).toStrictEqual([[second, first]]);
      });

      describe.each(BAD_SOURCES)('with %s', (_what, content) => {
        it('keeps the last good snapshot, reports reload_failed, and recovers', async () => {
          const good = await h.store.load();
          const failures: S3SyncError[] = [];
          h.store.on('reload_failed', (error, current) => {
            failures.push(error);
            expect(current).toBe(good);
          });
          await h.setSource(content);
          const error = await h.store.reload().catch((e: unknown) => e);
          expect(isS3SyncError(error)).toBe(true);
          expect(failures).toStrictEqual([error]);
          expect(h.store.snapshot()).toBe(good);
          expect(h.store.get().n).toBe(1);
          await h.store.reload().catch(() => undefined);
          expect(h.store.health()).toMatchObject({ ready: true, version: 1, consecutiveFailures: 2, lastError: error });

          await h.setSource(registry(3));
          const recovered = await h.store.reload();
          expect(recovered.version).toBe(2);
          expect(h.store.health()).toMatchObject({ version: 2, consecutiveFailures: 0 });
          expect(h.store.health()).not.toHaveProperty('lastError');
        });
      });

      it('shares reads: calls made while a read runs all get the next read', async () => {
        await h.store.load();
        let published = 0;
        h.store.on('reloaded', () => published++);
        await h.setSource(registry(2));
        const results = await Promise.all(Array.from({ length: 10 }, () => h.store.reload()));
        // The first call starts a read; the nine made while it ran share one read started after it.
        expect(published).toBe(2);
        expect(new Set(results.slice(1))).toHaveProperty('size', 1);
        expect(results.map((s) => s.data.n)).toStrictEqual(Array(10).fill(2));
      });

      it('never answers a call with a read that started before it', async () => {
        await h.store.load();
        await h.setSource(registry(2));
        const early = h.store.reload();
        await h.setSource(registry(3));
        const late = h.store.reload();
        expect([2, 3]).toContain((await early).data.n);
        expect((await late).data.n).toBe(3);
      });

      it('rejects with ERR_ABORTED when the caller aborts, without disturbing others', async () => {
        await h.store.load();
        await h.setSource(registry(2));
        const controller = new AbortController();
        const aborted = h.store.reload({ signal: controller.signal });
        const other = h.store.reload();
        controller.abort(new Error('client went away'));
        await expect(aborted).rejects.toMatchObject({ code: 'ERR_ABORTED' });
        expect((await other).data.n).toBe(2);
      });

      it('gives readers in a tight loop only complete snapshots whose version never goes back', async () => {
        await h.store.load();
        let reading = true;
        let reads = 0;
        let lastVersion = 0;
        // Plain comparisons in the loop (an expect() per read would starve the reloads it
        // watches); every violation is kept and asserted at the end.
        const violations: string[] = [];
        const reader = (async () => {
          while (reading) {
            for (let i = 0; i < 200; i++) {
              const snapshot = h.store.snapshot();
              const { data } = snapshot;
              if (snapshot.version < lastVersion) violations.push(`version ${snapshot.version} after ${lastVersion}`);
              lastVersion = snapshot.version;
              // Every part of the data belongs to the same file.
              if (data.servers.length !== 3)
                violations.push(`version ${snapshot.version}: ${data.servers.length} servers`);
              for (const server of data.servers) {
                if (server.n !== data.n)
                  violations.push(`version ${snapshot.version}: mixed data ${server.n}/${data.n}`);
              }
              reads++;
            }
            await new Promise<void>((resolve) => setImmediate(resolve));
          }
        })();
        for (let n = 2; n <= 200; n++) {
          await h.setSource(registry(n));
          await h.store.reload();
        }
        reading = false;
        await reader;
        expect(violations).toStrictEqual([]);
        expect(h.store.snapshot().version).toBe(200);
        expect(reads).toBeGreaterThan(1000);
      });
    });

    describe('.stage', () => {
      it('validates a candidate without publishing it, then publishes on request', async () => {
        await h.store.load();
        const path = await h.candidate(registry(5));
        const staged = await h.store.stage(path, { etag: '"e5"' });
        expect(staged.data.n).toBe(5);
        expect(h.store.get().n).toBe(1);
        const snapshot = staged.publish();
        expect(snapshot).toMatchObject({ version: 2, source: { etag: '"e5"' } });
        expect(h.store.get().n).toBe(5);
        expect(() => staged.publish()).toThrow(/already published/);
      });

      it('refuses a bad candidate with a typed error and keeps everything as it was', async () => {
        const good = await h.store.load();
        const path = await h.candidate('{"n": 5, "servers": [');
        const failures: S3SyncError[] = [];
        h.store.on('reload_failed', (error) => failures.push(error));
        const error = await h.store.stage(path).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'ERR_PARSE' });
        expect(failures).toStrictEqual([error]);
        expect(h.store.snapshot()).toBe(good);
        expect(h.store.health()).toMatchObject({ version: 1, consecutiveFailures: 1 });
      });

      it('drops a reload that started before a staged update was published', async () => {
        await h.store.load();
        const staged = await h.store.stage(await h.candidate(registry(9)));
        const reloading = h.store.reload(); // reads the old source (n = 1)
        const published = staged.publish();
        const result = await reloading;
        expect(result).toBe(published);
        expect(h.store.get().n).toBe(9);
      });
    });

    describe('.close', () => {
      it('keeps the last data readable and refuses further work with ERR_CLOSED', async () => {
        await h.store.load();
        await h.store.close();
        await h.store.close();
        expect(h.store.get().n).toBe(1);
        await expect(h.store.reload()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
        await expect(h.store.stage(await h.candidate(registry(2)))).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      });
    });
  });
}
