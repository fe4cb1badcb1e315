import type { ListenerErrorReporter } from '../events.ts';
import { checkListenerErrorOption, StoreCore } from './core.ts';
import { refuseProtoKeys } from './proto-keys.ts';
import { readJsonFile } from './read-json.ts';
import type { ReloadableStore } from './types.ts';
import type { Validate, WithSchema } from './validator.ts';

/** Options for {@link createReloadableStore}. */
export interface CreateReloadableStoreOptions<T> {
  /** Reads the data from wherever it lives. Abort work when `signal` fires (on `close()`). */
  readonly load: (signal: AbortSignal) => Promise<unknown>;
  /**
   * Checks the loaded data: a function that returns it (or a replacement) or throws, or a
   * Standard Schema. A function returning `undefined` or a boolean is refused (`ERR_VALIDATION`).
   */
  readonly validate?: Validate<T> | undefined;
  /**
   * Reads a candidate file for `stage()`.
   * @defaultValue a strict JSON file read (as `JsonFileStore` does)
   */
  readonly readCandidate?: ((path: string, signal: AbortSignal) => Promise<unknown>) | undefined;
  /**
   * Deep-freeze data before publishing it.
   * @defaultValue false
   */
  readonly freeze?: boolean | undefined;
  /**
   * Told when an event listener throws or an async one rejects; the other listeners and the
   * store carry on either way.
   * @defaultValue a process warning (`S3_SYNC_LISTENER_THREW`)
   */
  readonly onListenerError?: ListenerErrorReporter | undefined;
}

/**
 * A `ReloadableStore` over any source: a database query, an HTTP API, a computed value. It has the
 * same guarantees as `JsonFileStore`: validate before swap, last good kept, single-flight reloads,
 * and data holding a `__proto__` or `constructor.prototype` key refused with `ERR_PARSE`.
 */
export function createReloadableStore<T = unknown>(
  options: WithSchema<CreateReloadableStoreOptions<T>, T>,
): ReloadableStore<T>;
export function createReloadableStore<T = unknown>(options: CreateReloadableStoreOptions<T>): ReloadableStore<T>;
export function createReloadableStore<T = unknown>(options: CreateReloadableStoreOptions<T>): ReloadableStore<T> {
  if (typeof options?.load !== 'function') throw new TypeError('Expected `load` to be a function');
  const { load, readCandidate } = options;
  if (readCandidate !== undefined && typeof readCandidate !== 'function') {
    throw new TypeError('Expected `readCandidate` to be a function');
  }
  checkListenerErrorOption(options.onListenerError);
  // The loader's data may come from anywhere (a cache, a database driver): it may share objects
  // or hold cycles, so the check visits each object once.
  return new StoreCore<T>({
    read: async (signal) => {
      const data = await load(signal);
      refuseProtoKeys(data, 'The loaded data', {}, false);
      return data;
    },
    readCandidate:
      readCandidate === undefined
        ? (path, signal) => readJsonFile(path, { signal })
        : async (path, signal) => {
            const data = await readCandidate(path, signal);
            refuseProtoKeys(data, path, { path }, false);
            return data;
          },
    validate: options.validate,
    freeze: options.freeze,
    onListenerError: options.onListenerError,
  });
}
