/**
 * Processes text files uploaded to S3 and serves the results over HTTP:
 *
 *   API_KEY=… QUEUE_URL=… ALLOWED_BUCKETS=uploads WORK_DIR=/var/lib/uploads AWS_REGION=eu-west-1 \
 *     node examples/s3-upload-processor/server.ts
 *
 * See README.md beside this file. SIGTERM or SIGINT: the listener stops (running messages finish
 * or go back to the queue), then the HTTP server, and the process exits 0.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { isS3SyncError, type Logger } from 's3-sqs-sync';
import { configFromEnv, startUploadProcessor } from './app.ts';

const log = (level: string) => (fields: object, message?: string) => {
  const line = { level, time: new Date().toISOString(), msg: message, ...fields };
  process.stdout.write(
    `${JSON.stringify(line, (_key, value: unknown) => (value instanceof Error ? errorFields(value) : value))}\n`,
  );
};
const logger: Logger = { info: log('info'), warn: log('warn'), error: log('error') };

function errorFields(error: Error): object {
  return isS3SyncError(error) ? error.toJSON() : { name: error.name, message: error.message };
}

function exitWith(message: string): never {
  process.stderr.write(`s3-upload-processor: ${message}\n`);
  process.exit(1);
}

let config: ReturnType<typeof configFromEnv>;
try {
  config = configFromEnv(process.env);
} catch (error) {
  exitWith(error instanceof Error ? error.message : String(error));
}

// The SDK reads AWS_ENDPOINT_URL_S3 itself but has no variable for path-style addressing, which
// local emulators need: use it whenever the endpoint is not AWS's own.
const customS3Endpoint = (process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL) !== undefined;
const s3 = new S3Client({ forcePathStyle: customS3Endpoint });
// A queue URL names its own host, which the SQS client would send to; with a custom endpoint (an
// emulator's queue URLs name hosts that may not resolve) the endpoint should win.
const customSqsEndpoint = (process.env.AWS_ENDPOINT_URL_SQS ?? process.env.AWS_ENDPOINT_URL) !== undefined;
const sqs = new SQSClient({ useQueueUrlAsEndpoint: !customSqsEndpoint });
try {
  await s3.config.region();
} catch {
  exitWith('AWS_REGION must be set (or a region configured in the AWS profile)');
}

const running = await startUploadProcessor({ ...config, s3, sqs, logger }).catch((error: unknown) =>
  exitWith(error instanceof Error ? error.message : String(error)),
);
logger.info?.({ url: running.url, queueUrl: config.queueUrl, buckets: config.allow.buckets }, 'listening');

const shutdown = async (signal: string) => {
  logger.info?.({ signal }, 'stopping');
  const { handedBack, abandoned } = await running.stop();
  s3.destroy();
  sqs.destroy();
  logger.info?.({ handedBack, abandoned }, 'stopped');
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
