import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { createReplicaQueue, sweepReplicaQueues } from 's3-sqs-sync';
import { parseFlags, parseInteger, UsageError } from './args.ts';
import { snsClient, sqsClient } from './aws.ts';
import { REPLICA_HELP } from './help.ts';
import { readQueueFile } from './queue-file.ts';
import type { CommandIo } from './sync-command.ts';

const help = { help: { type: 'boolean', short: 'h' } } as const;

function required(flag: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`--${flag} is required`);
  return value;
}

/** Reports a missing queue or subscription as done: deleting what is gone is what was asked. */
function isGone(error: unknown): boolean {
  const name = (error as { name?: unknown }).name;
  return (
    name === 'QueueDoesNotExist' ||
    name === 'AWS.SimpleQueueService.NonExistentQueue' ||
    name === 'NotFoundException' ||
    name === 'NotFound'
  );
}

/** `s3-sqs-sync replica-queue create|delete|sweep`: the per-replica queue helpers as commands printing JSON. */
export async function runReplicaQueue(argv: readonly string[], io: CommandIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined) {
    io.stderr.write(REPLICA_HELP);
    return 2;
  }
  if (action === '--help' || action === '-h') {
    io.stdout(REPLICA_HELP);
    return 0;
  }
  const print = (value: unknown) => io.stdout(`${JSON.stringify(value)}\n`);
  const showHelp = () => {
    io.stdout(REPLICA_HELP);
    return 0;
  };
  if (action === 'create') {
    const { values } = parseFlags('replica-queue create', rest, {
      ...help,
      'topic-arn': { type: 'string' },
      prefix: { type: 'string' },
      'replica-id': { type: 'string' },
    });
    if (values.help === true) return showHelp();
    const topicArn = required('topic-arn', values['topic-arn']);
    const [sqs, sns] = await Promise.all([sqsClient(io.env), snsClient()]);
    try {
      const queue = await createReplicaQueue({
        sqs,
        sns,
        topicArn,
        // A command exits at once: the heartbeat is the running service's job (`touch`).
        heartbeatIntervalMs: 0,
        ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
        ...(values['replica-id'] === undefined ? {} : { replicaId: values['replica-id'] }),
      });
      const { queueUrl, queueArn, queueName, replicaId, subscriptionArn } = queue;
      print({ queueUrl, queueArn, queueName, replicaId, topicArn, subscriptionArn });
      return 0;
    } finally {
      sqs.destroy();
      sns.destroy();
    }
  }
  if (action === 'delete') {
    const { values } = parseFlags('replica-queue delete', rest, {
      ...help,
      'queue-url': { type: 'string' },
      'queue-url-file': { type: 'string' },
      'subscription-arn': { type: 'string' },
    });
    if (values.help === true) return showHelp();
    const file = values['queue-url-file'];
    if (file !== undefined && values['queue-url'] !== undefined) {
      throw new UsageError('give --queue-url or --queue-url-file, not both');
    }
    // The file `create` wrote names the subscription too, so a script needs only the file.
    const fromFile = file === undefined ? undefined : readQueueFile('queue-url-file', file);
    const queueUrl = fromFile?.queueUrl ?? required('queue-url', values['queue-url']);
    const subscriptionArn = values['subscription-arn'] ?? fromFile?.subscriptionArn;
    // A file holding a URL alone names no subscription, and deleting only the queue would leave
    // one pointing at nothing that no sweep ever finds (it lists queues). Finding it here would
    // need listing the topic's subscriptions, a permission a pod's role does not otherwise need.
    if (fromFile !== undefined && subscriptionArn === undefined) {
      throw new UsageError(
        `--queue-url-file: ${file} names no subscription: give the JSON "replica-queue create" printed, or --subscription-arn`,
      );
    }
    const [sqs, sns] = await Promise.all([sqsClient(io.env), snsClient()]);
    try {
      // Unsubscribe first: a subscription left pointing at a deleted queue is what a sweep cannot see.
      if (subscriptionArn !== undefined) {
        const { UnsubscribeCommand } = await import('@aws-sdk/client-sns');
        await sns.send(new UnsubscribeCommand({ SubscriptionArn: subscriptionArn })).catch((error: unknown) => {
          if (!isGone(error)) throw error;
        });
      }
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch((error: unknown) => {
        if (!isGone(error)) throw error;
      });
      print({ deleted: queueUrl, ...(subscriptionArn === undefined ? {} : { unsubscribed: subscriptionArn }) });
      return 0;
    } finally {
      sqs.destroy();
      sns.destroy();
    }
  }
  if (action === 'sweep') {
    const { values } = parseFlags('replica-queue sweep', rest, {
      ...help,
      prefix: { type: 'string' },
      'topic-arn': { type: 'string' },
      'older-than-ms': { type: 'string' },
      'dry-run': { type: 'boolean' },
    });
    if (values.help === true) return showHelp();
    const olderThanMs = parseInteger(
      'older-than-ms',
      required('older-than-ms', values['older-than-ms']),
      60_000,
      2 ** 53 - 1,
    );
    const [sqs, sns] = await Promise.all([sqsClient(io.env), snsClient()]);
    try {
      const result = await sweepReplicaQueues({
        sqs,
        sns,
        olderThanMs: olderThanMs ?? 0,
        ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
        ...(values['topic-arn'] === undefined ? {} : { topicArn: values['topic-arn'] }),
        ...(values['dry-run'] === true ? { dryRun: true } : {}),
      });
      print({
        removed: result.removed,
        kept: result.kept,
        ignored: result.ignored,
        failed: result.failed.map(({ queueUrl, error }) => ({ queueUrl, error: (error as Error).message })),
      });
      return result.failed.length === 0 ? 0 : 1;
    } finally {
      sqs.destroy();
      sns.destroy();
    }
  }
  throw new UsageError(`replica-queue: unknown action ${JSON.stringify(action)}; expected create, delete or sweep`);
}
