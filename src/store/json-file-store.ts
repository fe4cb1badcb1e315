import { resolve } from 'node:path';
import type { ListenerErrorReporter } from '../events.ts';
import { checkOptionalPositive } from '../validate.ts';
import { checkListenerErrorOption, StoreCore } from './core.ts';
import { readJsonFile } from './read-json.ts';
import type { Validate, WithSchema } from './validator.ts';

/** Options for {@link JsonFileStore}. */
export interface JsonFileStoreOptions<T> {
  /** The JSON file the store serves. */
  readonly path: string;
  /**
   * Checks (and may transform) parsed data: a function that returns it (or a replacement) or
   * throws, or a Standard Schema (zod 4, valibot, an ArkType `type`…). Invalid data is never
   * published (`ERR_VALIDATION`); neither is a function's `undefined` or boolean result.
   */
  readonly validate?: Validate<T> | undefined;
  /**
   * Refuse files larger than this (`ERR_TOO_LARGE`), checked before reading; a file that grows
   * while it is read (or a pipe) is read no further than one byte past it.
   * @defaultValue the largest string V8 can build (about 512 MiB)
   */
  readonly maxBytes?: number | undefined;
  /**
   * Accept a leading UTF-8 byte order mark. JSON must not have one (RFC 8259), so by default such
   * a file is refused with `ERR_PARSE`, which tells you the publisher added one.
   * @defaultValue false
   */
  readonly allowBom?: boolean | undefined;
  /**
   * Deep-freeze data before publishing it, so a reader that mutates it throws instead of
   * corrupting what every other reader sees. Costs a walk over the data on each load. Typed
   * arrays and Buffers (from a validator) cannot be frozen and are left as they are.
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
 * A `ReloadableStore` for one JSON file. Reads are strict (see `docs/store.md`): a file that is
 * missing, too large, empty, not UTF-8, invalid or truncated JSON, holds prototype-polluting
 * keys, or fails `validate` is never published; the last good snapshot stays.
 */
export class JsonFileStore<T = unknown> extends StoreCore<T> {
  /** The absolute path of the file. */
  readonly path: string;

  constructor(options: WithSchema<JsonFileStoreOptions<T>, T>);
  constructor(options: JsonFileStoreOptions<T>);
  constructor(options: JsonFileStoreOptions<T>) {
    if (typeof options?.path !== 'string' || options.path === '') {
      throw new TypeError(`Expected \`path\` to be a file path, received ${String(options?.path)}`);
    }
    checkOptionalPositive('maxBytes', options.maxBytes, true);
    checkListenerErrorOption(options.onListenerError);
    const path = resolve(options.path);
    const read = { maxBytes: options.maxBytes, allowBom: options.allowBom };
    super({
      read: (signal) => readJsonFile(path, { ...read, signal }),
      readCandidate: (candidate, signal) => readJsonFile(candidate, { ...read, signal }),
      validate: options.validate,
      freeze: options.freeze,
      source: { path },
      onListenerError: options.onListenerError,
    });
    this.path = path;
  }
}
