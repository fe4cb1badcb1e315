import assert from 'node:assert/strict';
import { isS3SyncError, type S3SyncError } from '../errors.ts';
import type { ReloadableStore, StoreSnapshot } from '../store/types.ts';
import { type Registry, registry } from './source.ts';

/**
 * The test functions of the caller's runner: vitest's, jest's globals, or `node:test`'s. The
 * suite uses no hooks and passes no arguments to its test bodies, so all three run it alike.
 */
export interface ContractTestApi {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => Promise<void>): unknown;
}

/** What the contract needs from one implementation; `create` makes a fresh one per test. */
export interface StoreHarness {
  /** A new, not yet loaded store that applies {@link validateRegistry} (or the same rules). */
  readonly store: ReloadableStore<Registry>;
  /** Replaces the store's source with these bytes; `null` removes it. */
  setSource(content: string | Uint8Array | null): Promise<void>;
  /** Writes a candidate file for `stage()` and returns its path. */
  candidate(content: string): Promise<string>;
  cleanup(): Promise<void>;
}

const BOM = Uint8Array.of(0xef, 0xbb, 0xbf);

/** Sources every implementation must refuse while keeping its last good snapshot. */
const BAD_SOURCES: readonly [string, string | Uint8Array | null][] = [
  ['invalid JSON', '{"n": 2, servers: []}'],
  ['an empty file', ''],
  ['a truncated file', registry(2).slice(0, 20)],
  ['a file with a byte order mark', Buffer.concat([BOM, Buffer.from(registry(2))])],
  ['data that fails validation', JSON.stringify({ n: 2, servers: 'nope' })],
  ['a __proto__ key', '{"n": 2, "servers": [], "__proto__": {"polluted": true}}'],
  ['a missing file', null],
];

async function rejection(work: Promise<unknown>): Promise<S3SyncError> {
  const error = await work.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(isS3SyncError(error), `expected a typed error, got ${String(error)}`);
  return error;
}

function assertCode(error: unknown, code: string): void {
  assert.equal((error as { code?: unknown } | null)?.code, code, `expected ${code}, got ${String(error)}`);
}

/**
 * Runs the shared `ReloadableStore` contract against one implementation, with the caller's
 * `describe` and `it`:
 *
 * ```ts
 * import { describe, it } from 'vitest'; // or 'node:test', or jest's globals
 * storeContract('MyStore', async () => { ... return { store, setSource, candidate, cleanup } }, { describe, it });
 * ```
 */
export function storeContract(name: string, create: () => Promise<StoreHarness>, api: ContractTestApi): void {
  const { describe, it } = api;
  /** One test: a fresh harness holding registry version 1, closed and cleaned up afterwards. */
  const test = (title: string, body: (h: StoreHarness) => Promise<void>) =>
    it(title, async () => {
      const h = await create();
      try {
        await h.setSource(registry(1));
        await body(h);
      } finally {
        await h.store.close();
        await h.cleanup();
      }
    });

  describe(`${name} (ReloadableStore contract)`, () => {
    describe('.load', () => {
      test('publishes version 1 and becomes ready', async ({ store }) => {
        const snapshot = await store.load();
        assert.equal(snapshot.version, 1);
        assert.equal(snapshot.data.n, 1);
        assert.ok(snapshot.loadedAt instanceof Date);
        assert.equal(store.get(), snapshot.data);
        assert.equal(store.snapshot(), snapshot);
        assert.ok(Object.isFrozen(snapshot));
        assert.deepEqual(
          { ...store.health(), loadedAt: undefined },
          { ready: true, version: 1, consecutiveFailures: 0, loadedAt: undefined },
        );
      });

      test('is not ready before it: get() and snapshot() throw ERR_NOT_READY', async ({ store }) => {
        assert.throws(() => store.get(), { code: 'ERR_NOT_READY' });
        assert.throws(() => store.snapshot(), { code: 'ERR_NOT_READY' });
        assert.deepEqual(store.health(), { ready: false, version: 0, consecutiveFailures: 0 });
      });

      test('rejects with a typed error and stays not ready when the source is bad', async (h) => {
        await h.setSource('{');
        await rejection(h.store.load());
        assert.deepEqual(
          { ...h.store.health(), lastError: undefined },
          { ready: false, version: 0, consecutiveFailures: 1, lastError: undefined },
        );
      });
    });

    describe('.reload', () => {
      test('publishes a new version and emits reloaded with the previous snapshot', async (h) => {
        const first = await h.store.load();
        const events: [StoreSnapshot<Registry>, StoreSnapshot<Registry> | undefined][] = [];
        h.store.on('reloaded', (snapshot, previous) => events.push([snapshot, previous]));
        await h.setSource(registry(2));
        const second = await h.store.reload();
        assert.equal(second.version, 2);
        assert.equal(h.store.get().n, 2);
        assert.deepEqual(events, [[second, first]]);
      });

      for (const [what, content] of BAD_SOURCES) {
        test(`with ${what}: keeps the last good snapshot, reports reload_failed, and recovers`, async (h) => {
          const good = await h.store.load();
          const failures: [S3SyncError, StoreSnapshot<Registry> | undefined][] = [];
          h.store.on('reload_failed', (error, current) => failures.push([error, current]));
          await h.setSource(content);
          const error = await rejection(h.store.reload());
          assert.deepEqual(failures, [[error, good]]);
          assert.equal(h.store.snapshot(), good);
          assert.equal(h.store.get().n, 1);
          await h.store.reload().catch(() => undefined);
          const health = h.store.health();
          assert.equal(health.version, 1);
          assert.equal(health.consecutiveFailures, 2);
          assert.ok(isS3SyncError(health.lastError));

          await h.setSource(registry(3));
          const recovered = await h.store.reload();
          assert.equal(recovered.version, 2);
          assert.equal(h.store.health().consecutiveFailures, 0);
          assert.equal('lastError' in h.store.health(), false);
          assert.equal(({} as { polluted?: unknown }).polluted, undefined);
        });
      }

      test('shares reads: calls made while a read runs all get the next read', async (h) => {
        await h.store.load();
        let published = 0;
        h.store.on('reloaded', () => published++);
        await h.setSource(registry(2));
        const results = await Promise.all(Array.from({ length: 10 }, () => h.store.reload()));
        // The first call starts a read; the nine made while it ran share one read started after it.
        assert.equal(published, 2);
        assert.equal(new Set(results.slice(1)).size, 1);
        assert.deepEqual(
          results.map((s) => s.data.n),
          Array(10).fill(2),
        );
      });

      test('never answers a call with a read that started before it', async (h) => {
        await h.store.load();
        await h.setSource(registry(2));
        const early = h.store.reload();
        await h.setSource(registry(3));
        const late = h.store.reload();
        assert.ok([2, 3].includes((await early).data.n));
        assert.equal((await late).data.n, 3);
      });

      test('rejects with ERR_ABORTED when the caller aborts, without disturbing others', async (h) => {
        await h.store.load();
        await h.setSource(registry(2));
        const controller = new AbortController();
        const aborted = h.store.reload({ signal: controller.signal });
        const other = h.store.reload();
        controller.abort(new Error('client went away'));
        assertCode(await rejection(aborted), 'ERR_ABORTED');
        assert.equal((await other).data.n, 2);
      });

      test('gives readers in a tight loop only complete snapshots whose version never goes back', async (h) => {
        await h.store.load();
        let reading = true;
        let reads = 0;
        let lastVersion = 0;
        // Plain comparisons in the loop (an assertion per read would starve the reloads it
        // watches); every violation is kept and asserted at the end.
        const violations: string[] = [];
        const reader = (async () => {
          while (reading) {
            for (let i = 0; i < 200; i++) {
              const snapshot = h.store.snapshot();
              const { data } = snapshot;
              if (snapshot.version < lastVersion) violations.push(`version ${snapshot.version} after ${lastVersion}`);
              lastVersion = snapshot.version;
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
        for (let n = 2; n <= 100; n++) {
          await h.setSource(registry(n));
          await h.store.reload();
        }
        reading = false;
        await reader;
        assert.deepEqual(violations, []);
        assert.equal(h.store.snapshot().version, 100);
        assert.ok(reads > 500, `only ${reads} reads`);
      });
    });

    describe('.stage', () => {
      test('validates a candidate without publishing it, then publishes on request', async (h) => {
        await h.store.load();
        const staged = await h.store.stage(await h.candidate(registry(5)), { etag: '"e5"' });
        assert.equal(staged.data.n, 5);
        assert.equal(h.store.get().n, 1);
        const snapshot = staged.publish();
        assert.equal(snapshot.version, 2);
        assert.equal(snapshot.source?.etag, '"e5"');
        assert.equal(h.store.get().n, 5);
      });

      test('refuses a second publish with ERR_STALE_UPDATE (reason published)', async (h) => {
        await h.store.load();
        const staged = await h.store.stage(await h.candidate(registry(5)));
        const snapshot = staged.publish();
        assert.throws(() => staged.publish(), { code: 'ERR_STALE_UPDATE', reason: 'published' });
        assert.equal(h.store.snapshot(), snapshot);
      });

      test('refuses to publish over a newer snapshot: ERR_STALE_UPDATE (reason superseded)', async (h) => {
        await h.store.load();
        const staged = await h.store.stage(await h.candidate(registry(2)));
        await h.setSource(registry(3));
        const newer = await h.store.reload();
        assert.throws(() => staged.publish(), { code: 'ERR_STALE_UPDATE', reason: 'superseded' });
        assert.equal(h.store.snapshot(), newer);
        assert.equal(h.store.get().n, 3);
        assert.equal(h.store.health().consecutiveFailures, 0);
      });

      test('refuses a bad candidate with a typed error and keeps everything as it was', async (h) => {
        const good = await h.store.load();
        const failures: S3SyncError[] = [];
        h.store.on('reload_failed', (error) => failures.push(error));
        const error = await rejection(h.store.stage(await h.candidate('{"n": 5, "servers": [')));
        assertCode(error, 'ERR_PARSE');
        assert.deepEqual(failures, [error]);
        assert.equal(h.store.snapshot(), good);
        assert.equal(h.store.health().consecutiveFailures, 1);
      });

      test('drops a reload that started before a staged update was published', async (h) => {
        await h.store.load();
        const staged = await h.store.stage(await h.candidate(registry(9)));
        const reloading = h.store.reload(); // reads the old source (n = 1)
        const published = staged.publish();
        assert.equal(await reloading, published);
        assert.equal(h.store.get().n, 9);
      });
    });

    describe('listeners', () => {
      test('a listener that throws on reload_failed neither silences the next one nor the store', async (h) => {
        const good = await h.store.load();
        const seen: string[] = [];
        h.store.on('reload_failed', () => {
          throw new Error('broken logger');
        });
        h.store.on('reload_failed', (error) => seen.push(error.code));
        await h.setSource('{');
        const error = await rejection(h.store.reload());
        assertCode(error, 'ERR_PARSE');
        assert.deepEqual(seen, ['ERR_PARSE']);
        assert.equal(h.store.snapshot(), good);
        await h.setSource(registry(2));
        assert.equal((await h.store.reload()).data.n, 2);
      });

      test('a listener that throws on reloaded does not undo the publish', async (h) => {
        await h.store.load();
        const seen: number[] = [];
        h.store.on('reloaded', () => {
          throw new Error('broken metrics');
        });
        h.store.on('reloaded', (snapshot) => seen.push(snapshot.version));
        await h.setSource(registry(2));
        const snapshot = await h.store.reload();
        assert.equal(snapshot.version, 2);
        assert.deepEqual(seen, [2]);
        assert.equal(h.store.snapshot(), snapshot);
      });
    });

    describe('.close', () => {
      test('keeps the last data readable and refuses further work with ERR_CLOSED', async (h) => {
        await h.store.load();
        await h.store.close();
        await h.store.close();
        assert.equal(h.store.get().n, 1);
        assertCode(await rejection(h.store.reload()), 'ERR_CLOSED');
        assertCode(await rejection(h.store.stage(await h.candidate(registry(2)))), 'ERR_CLOSED');
      });

      test('ends a stage it interrupts with ERR_CLOSED, not counted as a failure', async (h) => {
        await h.store.load();
        const path = await h.candidate(registry(2));
        const staging = h.store.stage(path);
        const closing = h.store.close();
        assertCode(await rejection(staging), 'ERR_CLOSED');
        await closing;
        assert.equal(h.store.health().consecutiveFailures, 0);
        assert.equal(h.store.get().n, 1);
      });
    });
  });
}
