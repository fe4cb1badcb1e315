import { randomUUID } from 'node:crypto';
import type { SubscribeCommandOutput } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  type CreateQueueCommandOutput,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type GetQueueAttributesCommandOutput,
  SetQueueAttributesCommand,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';
import {
  checkSignal,
  DEFAULT_REPLICA_QUEUE_PREFIX,
  isQueueMissing,
  isSnsNotFound,
  loadSns,
  queueGone,
  REPLICA_ROLE,
  REPLICA_TAGS,
  send,
} from './replica-common.ts';
import { type CreateReplicaQueueOptions, validateCreateOptions } from './replica-options.ts';

export type { CreateReplicaQueueOptions } from './replica-options.ts';

/** A replica's own queue, subscribed to the topic. */
export interface ReplicaQueue {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly queueName: string;
  readonly replicaId: string;
  readonly topicArn: string;
  readonly subscriptionArn: string;
  /** Refreshes the `s3-sqs-sync:last-seen` tag now. Rejects with `NotFoundError` if the queue is gone. */
  touch(options?: { readonly signal?: AbortSignal }): Promise<void>;
  /**
   * Stops the heartbeat, unsubscribes, then deletes the queue. Safe to call twice (the second call
   * returns the first one's promise; after a failure it tries again). If unsubscribing fails the
   * queue is kept, so a sweep can remove both later rather than leave a subscription to nowhere.
   */
  delete(options?: { readonly signal?: AbortSignal }): Promise<void>;
}

const DEFAULT_HEARTBEAT_INTERVAL_MS = 300_000;
// One hour: enough for a replica's failed messages to be retried a few times. A replica that was
// away longer reloads the current object when it starts, and the reconcile timer covers the rest.
const DEFAULT_QUEUE_ATTRIBUTES: Readonly<Record<string, string>> = { MessageRetentionPeriod: '3600' };

/** The queue policy: only this topic may send to this queue. */
export function replicaQueuePolicy(queueArn: string, topicArn: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AllowTopicToSend',
        Effect: 'Allow',
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
      },
    ],
  });
}

function subscriptionAttributes(options: CreateReplicaQueueOptions): Record<string, string> {
  const attributes: Record<string, string> = {
    RawMessageDelivery: String(options.rawMessageDelivery ?? true),
  };
  if (options.filterPolicy !== undefined) {
    attributes.FilterPolicy =
      typeof options.filterPolicy === 'string' ? options.filterPolicy : JSON.stringify(options.filterPolicy);
    attributes.FilterPolicyScope = options.filterPolicyScope ?? 'MessageBody';
  }
  return attributes;
}

function reportHeartbeatError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`Replica queue heartbeat failed: ${message}`, { code: 'S3_SQS_SYNC_REPLICA_HEARTBEAT' });
}

/**
 * Creates this replica's own queue and subscribes it to the topic, so it receives every change
 * (an SQS message goes to one consumer: replicas sharing a queue each miss updates).
 *
 * In order: the queue, tagged as a replica queue of the topic (in the same call, so no untagged
 * queue is ever left behind) → a policy that lets only this topic send to it → the subscription.
 * A failure or an abort part-way removes the queue when its name came from a random id; with a
 * `replicaId` the queue may be one an earlier call made (a restart's, with messages waiting), so
 * it stays, for the next call to pick up or for `sweepReplicaQueues` to remove. Called again with
 * the same `replicaId`, it gives back the same queue and subscription, retagged with `topicArn`.
 */
export async function createReplicaQueue(options: CreateReplicaQueueOptions): Promise<ReplicaQueue> {
  validateCreateOptions(options);
  const { sqs, sns, topicArn, signal } = options;
  const replicaId = options.replicaId ?? randomUUID().replaceAll('-', '').slice(0, 12);
  const queueName = (options.prefix ?? DEFAULT_REPLICA_QUEUE_PREFIX) + replicaId;
  const { SubscribeCommand, UnsubscribeCommand } = await loadSns();
  const lastSeenTag = (): Record<string, string> => ({ [REPLICA_TAGS.lastSeen]: new Date().toISOString() });

  const created = await send<CreateQueueCommandOutput>(
    sqs,
    new CreateQueueCommand({
      QueueName: queueName,
      Attributes: { ...DEFAULT_QUEUE_ATTRIBUTES, ...options.queueAttributes },
      tags: {
        ...options.tags,
        [REPLICA_TAGS.role]: REPLICA_ROLE,
        [REPLICA_TAGS.topic]: topicArn,
        [REPLICA_TAGS.replica]: replicaId,
        ...lastSeenTag(),
      },
    }),
    'CreateQueue',
    signal,
  );
  const queueUrl = created.QueueUrl ?? '';
  let subscriptionArn: string | undefined;
  let queueArn: string;
  try {
    // A stable replicaId may name a queue that exists already: SQS then keeps its old tags, so
    // the ones that change are set again (a topic given anew is the one a sweep must go by).
    if (options.replicaId !== undefined) {
      await send(
        sqs,
        new TagQueueCommand({ QueueUrl: queueUrl, Tags: { ...lastSeenTag(), [REPLICA_TAGS.topic]: topicArn } }),
        'TagQueue',
        signal,
      );
    }
    const { Attributes = {} } = await send<GetQueueAttributesCommandOutput>(
      sqs,
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
      'GetQueueAttributes',
      signal,
    );
    queueArn = Attributes.QueueArn ?? '';
    await send(
      sqs,
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: { Policy: replicaQueuePolicy(queueArn, topicArn) },
      }),
      'SetQueueAttributes',
      signal,
    );
    const subscribed = await send<SubscribeCommandOutput>(
      sns,
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: queueArn,
        Attributes: subscriptionAttributes(options),
        ReturnSubscriptionArn: true,
      }),
      'Subscribe',
      signal,
    );
    subscriptionArn = subscribed.SubscriptionArn ?? '';
  } catch (error) {
    // A queue named by a random id is this call's own: it goes (without the caller's signal,
    // which may be why we are here). One a stable replicaId names may be a restart's, with
    // messages waiting: it stays, tagged from its creation, for a later call or a sweep.
    if (options.replicaId === undefined) {
      await send(sqs, new DeleteQueueCommand({ QueueUrl: queueUrl }), 'DeleteQueue', undefined).catch(() => undefined);
    }
    throw error;
  }

  const onHeartbeatError = options.onHeartbeatError ?? reportHeartbeatError;
  let heartbeatInFlight = false;
  let deleting: Promise<void> | undefined;

  const touch = async (touchOptions?: { readonly signal?: AbortSignal }): Promise<void> => {
    checkSignal(touchOptions?.signal);
    try {
      await send(
        sqs,
        new TagQueueCommand({ QueueUrl: queueUrl, Tags: lastSeenTag() }),
        'TagQueue',
        touchOptions?.signal,
      );
    } catch (error) {
      throw isQueueMissing(error) ? queueGone(queueUrl, error) : error;
    }
  };

  const intervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const heartbeat =
    intervalMs === 0
      ? undefined
      : setInterval(() => {
          // A slow TagQueue must not pile up calls behind it.
          if (heartbeatInFlight) return;
          heartbeatInFlight = true;
          touch()
            .catch((error: unknown) => {
              try {
                onHeartbeatError(error);
              } catch {
                // A throwing reporter must not become an unhandled rejection.
              }
            })
            .finally(() => {
              heartbeatInFlight = false;
            });
        }, intervalMs);
  heartbeat?.unref();

  const remove = async (deleteSignal: AbortSignal | undefined): Promise<void> => {
    clearInterval(heartbeat);
    try {
      await send(sns, new UnsubscribeCommand({ SubscriptionArn: subscriptionArn }), 'Unsubscribe', deleteSignal);
    } catch (error) {
      if (!isSnsNotFound(error)) throw error;
    }
    try {
      await send(sqs, new DeleteQueueCommand({ QueueUrl: queueUrl }), 'DeleteQueue', deleteSignal);
    } catch (error) {
      if (!isQueueMissing(error)) throw error;
    }
  };

  return {
    queueUrl,
    queueArn,
    queueName,
    replicaId,
    topicArn,
    subscriptionArn,
    touch,
    delete(deleteOptions) {
      checkSignal(deleteOptions?.signal);
      deleting ??= remove(deleteOptions?.signal).catch((error: unknown) => {
        deleting = undefined;
        throw error;
      });
      return deleting;
    },
  };
}
