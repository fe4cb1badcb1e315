// Nest reads the metadata the decorators record; it must be loaded before any decorated class.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.ts';
import { listenAddress } from './config.ts';

const { port, host } = listenAddress(process.env);
// abortOnError: false makes a bad configuration reject (exit 1 with the error) instead of abort.
const app = await NestFactory.create(AppModule, { abortOnError: false, logger: ['log', 'warn', 'error'] });
// SIGTERM/SIGINT → close the server, await S3SyncLifecycle.onApplicationShutdown (sync.stop()),
// then exit 0; process.exit rather than re-raising the signal, so the exit status says it went well.
app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
await app.listen(port, host); // runs onModuleInit first: the first request already has a table
new Logger('Gateway').log(`listening on ${await app.getUrl()}`);
