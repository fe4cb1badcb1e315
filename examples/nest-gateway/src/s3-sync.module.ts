/**
 * `S3SyncModule`: the pipeline as Nest injectables. The sync starts when the module initialises
 * (so the app listens only once data is served) and `stop()` is awaited on application shutdown
 * (so an update in flight finishes or is cut cleanly before the process exits).
 *
 *   S3SyncModule.forRoot({ sqs, s3, target, source, validate })
 *   S3SyncModule.forRootAsync({ imports, inject, useFactory: (config) => ({ ... }) })
 *
 *   constructor(@Inject(S3_SYNC) sync: S3Sync<Table>, @Inject(S3_SYNC_STORE) store: ReloadableStore<Table>)
 */

import { resolve } from 'node:path';
import {
  type DynamicModule,
  type FactoryProvider,
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type ModuleMetadata,
  type OnApplicationShutdown,
  type OnModuleInit,
  type Provider,
} from '@nestjs/common';
import { createS3Sync, type S3Sync, type S3SyncOptions } from 's3-sqs-sync';

/** Injection token of the `S3Sync` instance. */
export const S3_SYNC = Symbol('S3_SYNC');
/** Injection token of the sync's store (`sync.store`): `get()` on each request. */
export const S3_SYNC_STORE = Symbol('S3_SYNC_STORE');
/** Injection token of the options the sync was created with. */
export const S3_SYNC_OPTIONS = Symbol('S3_SYNC_OPTIONS');

/** Options of {@link S3SyncModule.forRootAsync}. */
export interface S3SyncModuleAsyncOptions<T = unknown> {
  /**
   * Modules whose exported providers `inject` names.
   * @defaultValue []
   */
  readonly imports?: ModuleMetadata['imports'];
  /**
   * Tokens whose values are passed to `useFactory`, in order.
   * @defaultValue []
   */
  readonly inject?: FactoryProvider['inject'];
  /** Returns the options of `createS3Sync`, with the SDK clients the application owns. */
  // biome-ignore lint/suspicious/noExplicitAny: Nest passes the injected values untyped, as its own factories do.
  readonly useFactory: (...args: any[]) => S3SyncOptions<T> | Promise<S3SyncOptions<T>>;
}

// Targets of the syncs started in this process. Two syncs on one target (the module imported twice)
// would race each other's renames and take turns receiving the same queue's messages.
const startedTargets = new Set<string>();

/**
 * Starts the sync on module init and awaits its stop on application shutdown. Nest runs
 * `onApplicationShutdown` after the HTTP server is closed, so no request reads the store while
 * the sync stops; `app.enableShutdownHooks()` is what turns SIGTERM into that shutdown.
 */
@Injectable()
export class S3SyncLifecycle implements OnModuleInit, OnApplicationShutdown {
  readonly #sync: S3Sync;
  readonly #target: string;
  readonly #logger = new Logger('S3Sync');
  #owns = false;

  constructor(@Inject(S3_SYNC) sync: S3Sync, @Inject(S3_SYNC_OPTIONS) options: S3SyncOptions) {
    this.#sync = sync;
    this.#target = resolve(options.target);
    sync.on('update_applied', ({ version, etag }) => this.#logger.log(`serving version ${version} (etag ${etag})`));
    sync.on('update_failed', (error, { permanent }) =>
      this.#logger.warn(`update refused (${error.code}${permanent ? ', permanent' : ''}): ${error.message}`),
    );
    sync.on('stopped', () => this.#logger.log('stopped: no update running, messages settled'));
  }

  async onModuleInit(): Promise<void> {
    if (startedTargets.has(this.#target)) {
      throw new Error(
        `S3SyncModule is imported twice for ${this.#target}: import forRoot or forRootAsync once, in the root module (the module is global)`,
      );
    }
    startedTargets.add(this.#target);
    this.#owns = true;
    try {
      await this.#sync.start();
    } catch (error) {
      // A sync that never started keeps nothing in step: a new application may take the target.
      startedTargets.delete(this.#target);
      this.#owns = false;
      throw error;
    }
    this.#logger.log(`started: ${this.#sync.state}, version ${this.#sync.health().version}`);
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.#logger.log(`stopping${signal === undefined ? '' : ` on ${signal}`}`);
    // Awaited: Nest exits (or closes the application context) only after every hook resolves.
    try {
      await this.#sync.stop();
    } finally {
      if (this.#owns) startedTargets.delete(this.#target);
      this.#owns = false;
    }
  }
}

/**
 * The sync and its store as injectables, global to the application: one process keeps one data
 * set in step, and every controller may read it.
 */
@Global()
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: Nest knows a module by its class; forRoot and forRootAsync make its dynamic forms.
export class S3SyncModule {
  /** A module whose sync is created from fixed options. */
  static forRoot<T>(options: S3SyncOptions<T>): DynamicModule {
    return syncModule([], [{ provide: S3_SYNC_OPTIONS, useValue: options }]);
  }

  /** A module whose options come from a factory, which may be async and may inject providers. */
  static forRootAsync<T>(options: S3SyncModuleAsyncOptions<T>): DynamicModule {
    if (typeof options?.useFactory !== 'function') throw new TypeError('Expected `useFactory` to be a function');
    return syncModule(options.imports ?? [], [
      { provide: S3_SYNC_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
    ]);
  }
}

function syncModule(imports: NonNullable<ModuleMetadata['imports']>, optionsProviders: Provider[]): DynamicModule {
  return {
    module: S3SyncModule,
    imports,
    providers: [
      ...optionsProviders,
      // Created here, started by S3SyncLifecycle: a constructor must not do I/O.
      { provide: S3_SYNC, useFactory: (options: S3SyncOptions) => createS3Sync(options), inject: [S3_SYNC_OPTIONS] },
      { provide: S3_SYNC_STORE, useFactory: (sync: S3Sync) => sync.store, inject: [S3_SYNC] },
      S3SyncLifecycle,
    ],
    exports: [S3_SYNC, S3_SYNC_STORE, S3_SYNC_OPTIONS],
  };
}
