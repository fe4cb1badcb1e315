import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import { dirname } from 'node:path';
import { type AnnouncedUpdate, createS3Sync, type S3Sync } from 's3-sqs-sync';
import { checkSignalConfig, ExecRunner, sendSignal } from './after-update.ts';
import { UsageError } from './args.ts';
import { isStartFatal, s3Client, sqsClient } from './aws.ts';
import {
  closeServer,
  createMetricsEndpoint,
  METRICS_PACKAGES,
  type MetricsEndpoint,
  startHealthServer,
} from './health-server.ts';
import { SYNC_HELP } from './help.ts';
import { type CliLogger, createLogger, errorField, listenerLogger } from './logger.ts';
import { type Progress, startProgress } from './progress.ts';
import { type ReplicaHeartbeat, startReplicaHeartbeat } from './replica-heartbeat.ts';
import { createCliStore, type SyncedFile } from './store.ts';
import { parseSyncArgs, type SyncConfig } from './sync-options.ts';

/** What the command needs from its process; tests and `main` pass the real one. */
export interface CommandIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: NodeJS.WriteStream;
}

/** Refuses a target whose directory is missing or not writable, before anything starts (exit 2). */
async function checkTargetDirectory(target: string): Promise<void> {
  const directory = dirname(target);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(directory);
  } catch (error) {
    throw new UsageError(`--target: the directory ${directory} cannot be read: ${(error as Error).message}`);
  }
  if (!info.isDirectory()) throw new UsageError(`--target: ${directory} is not a directory`);
  try {
    // The new file is written beside the target and renamed over it: the directory itself must be writable.
    await access(directory, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    throw new UsageError(`--target: the directory ${directory} is not writable by this user`);
  }
  try {
    const existing = await stat(target);
    if (existing.isDirectory()) throw new UsageError(`--target: ${target} is a directory`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // No file yet is the first boot: the first object brings it.
  }
}

function where(update: AnnouncedUpdate | undefined): Record<string, unknown> {
  if (update === undefined) return {};
  return {
    bucket: update.bucket,
    key: update.key,
    origin: update.origin,
    ...(update.eTag === undefined ? {} : { eTag: update.eTag }),
    ...(update.messageId === undefined ? {} : { messageId: update.messageId }),
  };
}

/** One log line per pipeline event; the after-update commands on each applied update. */
function wire(sync: S3Sync<SyncedFile>, config: SyncConfig, logger: CliLogger, exec: ExecRunner | undefined): void {
  sync.on('update_received', (update) => logger.debug('update received', where(update)));
  sync.on('update_skipped', (update, reason) => logger.info('update skipped', { reason, ...where(update) }));
  sync.on('update_applied', (info) => {
    logger.info('update applied', {
      version: info.version,
      etag: info.etag,
      bytes: info.bytes,
      durationMs: Math.round(info.durationMs),
      ...(info.lagMs === undefined ? {} : { lagMs: info.lagMs }),
      ...where(info.update),
    });
    const update = { version: info.version, etag: info.etag, target: config.target };
    exec?.submit(update);
    if (config.signal !== undefined) void sendSignal(config.signal.name, config.signal.target, logger);
  });
  sync.on('update_failed', (error, info) => {
    const fields = { permanent: info.permanent, ...where(info.update), err: errorField(error) };
    if (info.permanent) logger.error('update failed', fields);
    else logger.warn('update failed', fields);
  });
  sync.on('started', () =>
    logger.info('sync started', { target: config.target, queueUrl: config.queueUrl, state: sync.state }),
  );
  sync.on('stopped', () => logger.info('sync stopped'));
}

/**
 * `s3-sqs-sync sync`: runs the pipeline until SIGTERM or SIGINT (SIGHUP is logged and ignored). Resolves with the exit code:
 * 0 after a clean stop, 1 when the start failed, 2 for bad flags or an unusable target directory.
 */
export async function runSync(
  argv: readonly string[],
  io: CommandIo,
  /** Takes over the signals that came while the command loaded (see `main`). */
  heldSignals?: () => readonly NodeJS.Signals[],
): Promise<number> {
  const parsed = parseSyncArgs(argv, io.env);
  if (parsed.help) {
    io.stdout(SYNC_HELP);
    return 0;
  }
  const { config } = parsed;
  if (config.signal !== undefined) checkSignalConfig(config.signal.name, config.signal.target);
  const logger = createLogger({ format: config.logFormat, level: config.logLevel, write: io.stdout });

  // What has been started so far: a signal can come at any point of the start, and a stop ends
  // what exists and nothing else.
  let store: ReturnType<typeof createCliStore> | undefined;
  let s3: Awaited<ReturnType<typeof s3Client>> | undefined;
  let sqs: Awaited<ReturnType<typeof sqsClient>> | undefined;
  let sync: S3Sync<SyncedFile> | undefined;
  let exec: ExecRunner | undefined;
  let metrics: MetricsEndpoint | undefined;
  let heartbeat: ReplicaHeartbeat | undefined;
  let server: Server | undefined;
  let progress: Progress | undefined;
  // Ends the calls of the start that a stop would otherwise wait on (the heartbeat's first read).
  const stopping = new AbortController();
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  let shuttingDown: Promise<void> | undefined;
  const shutdown = (code: number, reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      stopping.abort();
      heartbeat?.stop();
      logger.info('stopping', { reason });
      progress?.stop();
      // A running --verify-cmd would hold the stop until its own timeout: kill it, the update is refused.
      store?.abort();
      try {
        const deadline = performance.now() + config.stopTimeoutMs;
        await sync?.stop();
        // One --stop-timeout bounds the whole stop: a hung --exec gets what the pipeline left, then its group is killed.
        await exec?.close(Math.max(0, deadline - performance.now()));
        if (server !== undefined) await closeServer(server);
        await metrics?.shutdown();
        await store?.close();
      } catch (error) {
        logger.error('stop failed', { err: errorField(error) });
        code = code === 0 ? 1 : code;
      } finally {
        s3?.destroy();
        sqs?.destroy();
        finish(code);
      }
    })();
    return shuttingDown;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown !== undefined) {
      logger.warn('second signal: exiting now', { signal });
      // Exiting now leaves no time for a grace period: the hooks' process groups go with SIGKILL.
      store?.abort();
      exec?.kill(true);
      finish(1);
      return;
    }
    void shutdown(0, signal);
  };
  // Node exits on SIGHUP by default, and an init (tini in the image, `docker run --init`) forwards
  // one sent to pid 1. A sidecar must not stop because a HUP meant for the service reached it; the
  // command reads no configuration it could reload, so it says so and carries on. Installed before
  // the first await: until a listener exists, a signal kills the process with Node's default.
  const onHangUp = () => logger.info('SIGHUP ignored: nothing to reload', { signal: 'SIGHUP' });
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onHangUp);
  for (const signal of heldSignals?.() ?? []) {
    if (signal === 'SIGHUP') onHangUp();
    else onSignal(signal);
  }

  const start = async (): Promise<number> => {
    await checkTargetDirectory(config.target);
    const { compileSchema } = config.schema === undefined ? { compileSchema: undefined } : await import('./schema.ts');
    const schema = config.schema === undefined ? undefined : await compileSchema?.(config.schema);
    if (shuttingDown !== undefined) return finished;
    store = createCliStore({
      target: config.target,
      format: config.format,
      maxBytes: config.maxBytes,
      schema,
      verify:
        config.verifyCommand === undefined
          ? undefined
          : { command: config.verifyCommand, timeoutMs: config.verifyTimeoutMs, target: config.target, logger },
    });
    const clients = await Promise.all([s3Client(io.env), sqsClient(io.env)]);
    if (shuttingDown !== undefined) {
      for (const client of clients) client.destroy();
      return finished;
    }
    [s3, sqs] = clients;
    const pipeline = createS3Sync<SyncedFile>({
      sqs: {
        client: sqs,
        queueUrl: config.queueUrl,
        logger: listenerLogger(logger),
        ...(config.waitTimeSeconds === undefined ? {} : { waitTimeSeconds: config.waitTimeSeconds }),
      },
      s3: { client: s3 },
      target: config.target,
      store,
      ...(config.source === undefined ? {} : { source: config.source }),
      ...(config.allow === undefined ? {} : { allow: config.allow }),
      ...(config.maxBytes === undefined ? {} : { maxBytes: config.maxBytes }),
      ...(config.reconcileIntervalMs === undefined ? {} : { reconcileIntervalMs: config.reconcileIntervalMs }),
      ...(config.expectedBucketOwner === undefined ? {} : { expectedBucketOwner: config.expectedBucketOwner }),
      stopTimeoutMs: config.stopTimeoutMs,
    });
    sync = pipeline;
    exec =
      config.exec === undefined ? undefined : new ExecRunner(config.exec, logger, { timeoutMs: config.execTimeoutMs });
    wire(pipeline, config, logger, exec);

    if (config.health !== undefined) {
      const endpoint = await createMetricsEndpoint(pipeline as S3Sync<unknown>, config.queueUrl);
      if (shuttingDown !== undefined) {
        await endpoint?.shutdown();
        return finished;
      }
      metrics = endpoint;
      if (metrics === undefined) {
        logger.warn('/metrics is off: install its optional peer dependencies to serve it', {
          packages: METRICS_PACKAGES,
        });
      }
      const listening = await startHealthServer({ sync: pipeline as S3Sync<unknown>, ...config.health, metrics });
      if (shuttingDown !== undefined) {
        await closeServer(listening);
        return finished;
      }
      server = listening;
      const address = server.address();
      logger.info('health server listening', {
        host: config.health.host,
        port: typeof address === 'object' && address !== null ? address.port : config.health.port,
      });
    }

    // Credentials or a queue that fail at start are a configuration error: exit rather than retry for ever.
    let fatalAtStart: unknown;
    const onStartFailure = (error: unknown, info: { readonly update?: AnnouncedUpdate }) => {
      if (info.update?.origin === 'start' && isStartFatal(error)) fatalAtStart ??= error;
    };
    pipeline.on('update_failed', onStartFailure);
    const listener = pipeline.listener;
    const received = () => {
      listener.off('receive_error', onReceiveError);
      listener.off('empty', received);
      listener.off('message_received', received);
    };
    const onReceiveError = (error: unknown) => {
      if (!isStartFatal(error)) return;
      received();
      logger.fatal('cannot receive from the queue: check the credentials and the queue URL', {
        queueUrl: config.queueUrl,
        err: errorField(error),
      });
      void shutdown(1, 'receive failed at start');
    };
    listener.on('receive_error', onReceiveError);
    listener.on('empty', received);
    listener.on('message_received', received);

    // A queue made by `replica-queue create` keeps its last-seen tag fresh while this runs, so a
    // sweep never takes a live sidecar's queue. Not awaited: an SQS endpoint that never answers
    // must hold neither the first fetch (the file is served meanwhile) nor a stop, which aborts it.
    void startReplicaHeartbeat({
      sqs,
      queueUrl: config.queueUrl,
      signal: stopping.signal,
      onError: (error) =>
        logger.warn('replica queue heartbeat failed', { queueUrl: config.queueUrl, err: errorField(error) }),
    }).then(
      (started) => {
        if (shuttingDown !== undefined) {
          started?.stop();
          return;
        }
        heartbeat = started;
        if (started?.isReplicaQueue === true) {
          logger.info('replica queue heartbeat started', { queueUrl: config.queueUrl });
        } else if (started !== undefined) {
          logger.warn('replica queue check failed: trying again at each heartbeat', { queueUrl: config.queueUrl });
        }
      },
      (error: unknown) => {
        // Its first read aborted by a stop: nothing to report.
        if (shuttingDown === undefined) {
          logger.warn('replica queue heartbeat failed', { queueUrl: config.queueUrl, err: errorField(error) });
        }
      },
    );

    if (io.stderr.isTTY === true && config.source !== undefined) progress = startProgress(s3, config.target, io.stderr);
    try {
      await pipeline.start();
    } catch (error) {
      // A signal during the first fetch aborts it: that is a stop, not a failed start.
      if (shuttingDown !== undefined) return finished;
      logger.fatal('start failed: nothing could be served', { err: errorField(error) });
      void shutdown(1, 'start failed');
      return finished;
    } finally {
      progress?.stop();
      progress = undefined;
      pipeline.off('update_failed', onStartFailure);
    }
    if (fatalAtStart !== undefined) {
      logger.fatal('the object cannot be fetched: check the credentials and the bucket policy', {
        err: errorField(fatalAtStart),
      });
      void shutdown(1, 'fetch failed at start');
    }
    return finished;
  };

  try {
    // A stop ends the command whatever the start is waiting on; the handlers stay until then, so
    // a second signal is always the command's own exit 1, never Node's default.
    return await Promise.race([finished, start()]);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onHangUp);
  }
}
