import type { ListSubscriptionsByTopicCommandOutput, SNSClient } from '@aws-sdk/client-sns';
import {
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type GetQueueAttributesCommandOutput,
  ListQueuesCommand,
  type ListQueuesCommandOutput,
  ListQueueTagsCommand,
  type ListQueueTagsCommandOutput,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { AbortedError } from '../errors.ts';
import { checkOptionalInteger } from '../validate.ts';
import {
  checkClient,
  checkNamePart,
  checkSignal,
  checkTopicArn,
  DEFAULT_REPLICA_QUEUE_PREFIX,
  isQueueMissing,
  isSnsNotFound,
  loadSns,
  queueNameOf,
  REPLICA_ROLE,
  REPLICA_TAGS,
  send,
} from './replica-common.ts';

/** Options for {@link sweepReplicaQueues}. */
export interface SweepReplicaQueuesOptions {
  /** Your SQS client, in the replicas' region. */
  readonly sqs: SQSClient;
  /** Your SNS client, in the topic's region. */
  readonly sns: SNSClient;
  /**
   * Queue name prefix to look under (`ListQueues` by prefix), as given to `createReplicaQueue`.
   * @defaultValue `'s3-sqs-sync-replica-'`
   */
  readonly prefix?: string | undefined;
  /** Only sweep replica queues of this topic; others are left alone. */
  readonly topicArn?: string | undefined;
  /**
   * A replica queue whose `s3-sqs-sync:last-seen` tag (or, without one, its creation time) is
   * older than this is removed. At least 60000; make it several heartbeat intervals, so a replica
   * whose heartbeat failed once or twice is not taken for dead.
   */
  readonly olderThanMs: number;
  /**
   * Report what would be removed, remove nothing.
   * @defaultValue false
   */
  readonly dryRun?: boolean | undefined;
  /** Aborts the sweep between calls (`ERR_ABORTED`); a queue half-removed is finished by the next sweep. */
  readonly signal?: AbortSignal | undefined;
}

/** A replica queue the sweep removed (or, with `dryRun`, would remove). */
export interface SweptReplicaQueue {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly replicaId: string;
  readonly topicArn: string;
  /** The replica's last heartbeat, or the queue's creation time when it has none. */
  readonly lastSeenAt: Date;
  /** The subscriptions of this queue that were removed from the topic. */
  readonly subscriptionArns: readonly string[];
}

/** What {@link sweepReplicaQueues} found. */
export interface SweepReplicaQueuesResult {
  readonly removed: readonly SweptReplicaQueue[];
  /** Replica queues seen recently enough: their replicas are taken to be alive. */
  readonly kept: readonly { readonly queueUrl: string; readonly lastSeenAt: Date }[];
  /** Queues under the prefix that are not replica queues (of `topicArn`, when given): never touched. */
  readonly ignored: readonly string[];
  /** Queues whose removal failed; the next sweep tries again. */
  readonly failed: readonly { readonly queueUrl: string; readonly error: unknown }[];
}

// Deleting a queue takes up to 60 s on AWS, and a heartbeat needs time to land: a shorter limit
// would take live replicas for dead.
const MIN_OLDER_THAN_MS = 60_000;

function validate(options: SweepReplicaQueuesOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected options to be an object, received ${String(options)}`);
  }
  checkClient('sqs', options.sqs);
  checkClient('sns', options.sns);
  if (options.prefix !== undefined) checkNamePart('prefix', options.prefix);
  if (options.topicArn !== undefined) checkTopicArn('topicArn', options.topicArn);
  if (options.olderThanMs === undefined)
    throw new TypeError('Expected `olderThanMs` to be a number, received undefined');
  checkOptionalInteger('olderThanMs', options.olderThanMs, MIN_OLDER_THAN_MS);
  if (options.dryRun !== undefined && typeof options.dryRun !== 'boolean') {
    throw new TypeError(`Expected \`dryRun\` to be a boolean, received ${String(options.dryRun)}`);
  }
  checkSignal(options.signal);
}

async function listQueueUrls(sqs: SQSClient, prefix: string, signal: AbortSignal | undefined): Promise<string[]> {
  const urls: string[] = [];
  let nextToken: string | undefined;
  do {
    const page: ListQueuesCommandOutput = await send(
      sqs,
      // Without MaxResults, SQS returns at most 1000 URLs and no token to go on with.
      new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 1000, NextToken: nextToken }),
      'ListQueues',
      signal,
    );
    urls.push(...(page.QueueUrls ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return urls;
}

/**
 * Finds the queues that replicas left behind when they died without calling `delete()`, and
 * removes them: each queue's subscriptions first (matched by endpoint = queue ARN), then the queue.
 * A queue without the `s3-sqs-sync:role` tag is never deleted, whatever its name. Run it from one
 * place on a schedule (a cron job, or one replica elected to do it): two sweeps at once are safe,
 * just wasteful.
 */
export async function sweepReplicaQueues(options: SweepReplicaQueuesOptions): Promise<SweepReplicaQueuesResult> {
  validate(options);
  const { sqs, sns, signal } = options;
  const { ListSubscriptionsByTopicCommand, UnsubscribeCommand } = await loadSns();
  const now = Date.now();
  const removed: SweptReplicaQueue[] = [];
  const kept: { queueUrl: string; lastSeenAt: Date }[] = [];
  const ignored: string[] = [];
  const failed: { queueUrl: string; error: unknown }[] = [];
  // One listing per topic per sweep, however many dead replicas it had.
  const subscriptionsByTopic = new Map<string, Promise<{ arn: string; endpoint: string }[]>>();

  const subscriptionsOf = (topicArn: string) => {
    let listing = subscriptionsByTopic.get(topicArn);
    if (listing === undefined) {
      listing = (async () => {
        const found: { arn: string; endpoint: string }[] = [];
        let nextToken: string | undefined;
        try {
          do {
            const page: ListSubscriptionsByTopicCommandOutput = await send(
              sns,
              new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: nextToken }),
              'ListSubscriptionsByTopic',
              signal,
            );
            for (const s of page.Subscriptions ?? []) {
              if (s.SubscriptionArn !== undefined && s.Endpoint !== undefined) {
                found.push({ arn: s.SubscriptionArn, endpoint: s.Endpoint });
              }
            }
            nextToken = page.NextToken;
          } while (nextToken);
        } catch (error) {
          // A deleted topic has no subscriptions left to remove.
          if (!isSnsNotFound(error)) throw error;
        }
        return found;
      })();
      // A failed listing is tried again for the next queue rather than remembered.
      listing.catch(() => subscriptionsByTopic.delete(topicArn));
      subscriptionsByTopic.set(topicArn, listing);
    }
    return listing;
  };

  for (const queueUrl of await listQueueUrls(sqs, options.prefix ?? DEFAULT_REPLICA_QUEUE_PREFIX, signal)) {
    try {
      const { Tags = {} } = await send<ListQueueTagsCommandOutput>(
        sqs,
        new ListQueueTagsCommand({ QueueUrl: queueUrl }),
        'ListQueueTags',
        signal,
      );
      const topicArn = Tags[REPLICA_TAGS.topic];
      if (
        Tags[REPLICA_TAGS.role] !== REPLICA_ROLE ||
        topicArn === undefined ||
        (options.topicArn !== undefined && topicArn !== options.topicArn)
      ) {
        ignored.push(queueUrl);
        continue;
      }
      let lastSeen = Date.parse(Tags[REPLICA_TAGS.lastSeen] ?? '');
      if (Number.isFinite(lastSeen) && now - lastSeen < options.olderThanMs) {
        kept.push({ queueUrl, lastSeenAt: new Date(lastSeen) });
        continue;
      }
      const { Attributes = {} } = await send<GetQueueAttributesCommandOutput>(
        sqs,
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn', 'CreatedTimestamp'] }),
        'GetQueueAttributes',
        signal,
      );
      // No readable heartbeat (a hand-edited tag): age by creation time, never by nothing.
      if (!Number.isFinite(lastSeen)) lastSeen = Number(Attributes.CreatedTimestamp) * 1000;
      if (!Number.isFinite(lastSeen) || now - lastSeen < options.olderThanMs) {
        kept.push({ queueUrl, lastSeenAt: new Date(Number.isFinite(lastSeen) ? lastSeen : now) });
        continue;
      }
      const queueArn = Attributes.QueueArn ?? '';
      const subscriptions = (await subscriptionsOf(topicArn)).filter((s) => s.endpoint === queueArn);
      if (options.dryRun !== true) {
        // Subscriptions first: a queue deleted before its subscription would leave one to nowhere.
        for (const s of subscriptions) {
          try {
            await send(sns, new UnsubscribeCommand({ SubscriptionArn: s.arn }), 'Unsubscribe', signal);
          } catch (error) {
            if (!isSnsNotFound(error)) throw error;
          }
        }
        try {
          await send(sqs, new DeleteQueueCommand({ QueueUrl: queueUrl }), 'DeleteQueue', signal);
        } catch (error) {
          if (!isQueueMissing(error)) throw error;
        }
      }
      removed.push({
        queueUrl,
        queueArn,
        replicaId: Tags[REPLICA_TAGS.replica] ?? queueNameOf(queueUrl),
        topicArn,
        lastSeenAt: new Date(lastSeen),
        subscriptionArns: subscriptions.map((s) => s.arn),
      });
    } catch (error) {
      if (error instanceof AbortedError) throw error;
      // Deleted between the listing and now (another sweep, or its replica stopping): nothing to do.
      if (isQueueMissing(error)) continue;
      failed.push({ queueUrl, error });
    }
  }
  return { removed, kept, ignored, failed };
}
