import { readFileSync } from 'node:fs';
import { UsageError } from './args.ts';

/** What a queue file names: the queue, and the subscription when it is the output of `replica-queue create`. */
export interface QueueFile {
  readonly queueUrl: string;
  readonly subscriptionArn?: string;
}

const QUEUE_URL = /^https?:\/\/\S+$/;

/**
 * Reads `--queue-url-file`: a queue URL alone, or the JSON that `replica-queue create` prints, so
 * an init container can write its output to a shared volume and `sync` (and the `preStop`
 * `replica-queue delete`) read the queue its pod was given, with no `jq` in the image. Read once,
 * at start: a missing or malformed file is a usage error (exit 2), not something to wait for.
 */
export function readQueueFile(flag: string, path: string): QueueFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new UsageError(`--${flag}: ${path} cannot be read: ${(error as Error).message}`);
  }
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`--${flag}: ${path} is not valid JSON: ${(error as Error).message}`);
    }
    const { queueUrl, subscriptionArn } = parsed as { queueUrl?: unknown; subscriptionArn?: unknown };
    if (typeof queueUrl !== 'string' || !QUEUE_URL.test(queueUrl)) {
      throw new UsageError(`--${flag}: ${path} has no "queueUrl" holding an SQS queue URL`);
    }
    return typeof subscriptionArn === 'string' && subscriptionArn !== '' ? { queueUrl, subscriptionArn } : { queueUrl };
  }
  if (!QUEUE_URL.test(text)) {
    throw new UsageError(`--${flag}: ${path} must hold an SQS queue URL or the JSON of "replica-queue create"`);
  }
  return { queueUrl: text };
}
