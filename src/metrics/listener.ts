import type { Message } from '@aws-sdk/client-sqs';
import type { Attributes, Meter } from '@opentelemetry/api';
import type { SqsListener } from '../sqs/listener.ts';
import type { SqsListenerEventMap } from '../sqs/types.ts';
import { errorType } from './attributes.ts';
import { ATTR, DURATION_BUCKETS_S, METRICS, VALUE_TYPE_INT } from './names.ts';
import { observe, type Subscription, subscribe } from './subscriptions.ts';

type Events = SqsListenerEventMap;

/**
 * Records an `SqsListener`'s events: messages consumed, processing time and failures, hand-backs,
 * SQS call failures, and (read at collection) handlers in flight and abandoned. `base` carries
 * the caller's attributes plus `messaging.system` and, when known, `messaging.destination.name`.
 */
export function instrumentListener(listener: SqsListener, meter: Meter, base: Attributes): Subscription[] {
  const consumed = meter.createCounter(METRICS.consumedMessages.name, {
    description: 'Messages received from the queue and handed to the handler.',
    unit: METRICS.consumedMessages.unit,
    valueType: VALUE_TYPE_INT,
  });
  const processDuration = meter.createHistogram(METRICS.processDuration.name, {
    description: 'Time from a message handed to the handler to its outcome: deleted, or failed (handler or delete).',
    unit: METRICS.processDuration.unit,
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_S] },
  });
  const handedBack = meter.createCounter(METRICS.handedBack.name, {
    description: 'Messages made visible again unhandled (stop deadline, FIFO group failure).',
    unit: METRICS.handedBack.unit,
    valueType: VALUE_TYPE_INT,
  });
  const sqsErrors = meter.createCounter(METRICS.sqsErrors.name, {
    description: 'Failed SQS calls: receive, delete, and visibility heartbeat.',
    unit: METRICS.sqsErrors.unit,
    valueType: VALUE_TYPE_INT,
  });
  const inFlight = meter.createObservableUpDownCounter(METRICS.handlersInFlight.name, {
    description: 'Messages held now: handlers running, and FIFO messages waiting for their group.',
    unit: METRICS.handlersInFlight.unit,
    valueType: VALUE_TYPE_INT,
  });
  const abandoned = meter.createObservableUpDownCounter(METRICS.handlersAbandoned.name, {
    description: 'Handlers given up on (timed out, or running at the stop deadline) that still run.',
    unit: METRICS.handlersAbandoned.unit,
    valueType: VALUE_TYPE_INT,
  });

  const receiveAttributes: Attributes = { ...base, [ATTR.operationName]: 'receive' };
  const processAttributes: Attributes = { ...base, [ATTR.operationName]: 'process' };
  // Keyed by the message object the listener passes to every event of one delivery; weak, so a
  // delivery whose end is never reported (handed back, abandoned) leaves nothing behind.
  const started = new WeakMap<Message, number>();
  const finish = (message: Message, attributes: Attributes): void => {
    const start = started.get(message);
    if (start === undefined) return; // received before instrument() was called
    started.delete(message);
    processDuration.record((performance.now() - start) / 1000, attributes);
  };
  // One failed batch delete is reported once per message with the same error: count the call once.
  const counted = new WeakSet<object>();
  const sqsError = (operation: string, error: unknown): void => {
    if (typeof error === 'object' && error !== null) {
      if (counted.has(error)) return;
      counted.add(error);
    }
    sqsErrors.add(1, { ...base, [ATTR.operation]: operation, [ATTR.errorType]: errorType(error) });
  };

  return [
    subscribe<Events, 'message_received'>(listener, 'message_received', (message) => {
      started.set(message, performance.now());
      consumed.add(1, receiveAttributes);
    }),
    subscribe<Events, 'message_processed'>(listener, 'message_processed', (message) => {
      finish(message, processAttributes);
    }),
    subscribe<Events, 'processing_error'>(listener, 'processing_error', (error, message) => {
      finish(message, { ...processAttributes, [ATTR.errorType]: errorType(error) });
    }),
    subscribe<Events, 'message_handed_back'>(listener, 'message_handed_back', (message, reason) => {
      started.delete(message);
      handedBack.add(1, { ...base, [ATTR.handBackReason]: reason });
    }),
    subscribe<Events, 'receive_error'>(listener, 'receive_error', (error) => sqsError('receive', error)),
    subscribe<Events, 'delete_error'>(listener, 'delete_error', (error, message) => {
      sqsError('delete', error);
      // Handled but not deleted: it will be delivered again, so this delivery did not succeed.
      finish(message, { ...processAttributes, [ATTR.errorType]: errorType(error) });
    }),
    subscribe<Events, 'heartbeat_error'>(listener, 'heartbeat_error', (error) => sqsError('heartbeat', error)),
    observe(
      meter,
      (result) => {
        result.observe(inFlight, listener.inFlight, base);
        result.observe(abandoned, listener.abandoned, base);
      },
      [inFlight, abandoned],
    ),
  ];
}
