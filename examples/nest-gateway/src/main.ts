// Nest reads the metadata the decorators record; it must be loaded before any decorated class.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { isS3SyncError } from 's3-sqs-sync';
import { AppModule } from './app.module.ts';
import { listenAddress } from './config.ts';

const { port, host } = listenAddress(process.env);
const app = await NestFactory.create(AppModule, {
  // abortOnError: false makes a bad configuration reject (exit 1 with the error) instead of abort.
  abortOnError: false,
  // The gateway routes bodies, it does not read them: a parser would refuse large or non-JSON
  // bodies (413, 400) before the route runs, and consume the stream a forwarding proxy needs.
  bodyParser: false,
  logger: ['log', 'warn', 'error'],
});
// SIGTERM/SIGINT → close the server (HttpDrain bounds that), await S3SyncLifecycle's
// onApplicationShutdown (sync.stop()), then exit 0; process.exit rather than re-raising the
// signal, so the exit status says it went well.
app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
try {
  await app.listen(port, host); // runs onModuleInit first: the first request already has a table
  new Logger('Gateway').log(`listening on ${await app.getUrl()}`);
} catch (error) {
  // A signal during start-up: stop() aborted start(), and the shutdown under way exits 0.
  if (!(isS3SyncError(error) && error.code === 'ERR_CLOSED')) throw error;
}
