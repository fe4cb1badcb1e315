/**
 * `s3-sqs-sync/metrics`: the pipeline's events as OpenTelemetry metrics. A subpath of its own so
 * that the core import never loads OpenTelemetry; and even here only the API's types are
 * imported: the caller injects the meter, so this module has no runtime dependency on it.
 */
import type { Attributes, Meter } from '@opentelemetry/api';
import type { SqsListener } from '../sqs/listener.ts';
import type { S3Sync } from '../sync/sync.ts';
import { freezeAttributes, queueName } from './attributes.ts';
import { instrumentListener } from './listener.ts';
import { ATTR, MESSAGING_SYSTEM_SQS } from './names.ts';
import type { Subscription } from './subscriptions.ts';
import { instrumentSync } from './sync.ts';

/** Options for {@link instrument}. */
export interface InstrumentOptions {
  /** The OpenTelemetry meter to record with, e.g. `metrics.getMeter('s3-sqs-sync')`. */
  readonly meter: Meter;
  /**
   * Attributes added to every measurement, e.g. `{ 'service.instance.id': replicaId }` when one
   * meter records several pipelines. Keep them low-cardinality; resource attributes such as
   * `service.name` belong on the `MeterProvider`'s resource, not here.
   * @defaultValue none
   */
  readonly attributes?: Attributes | undefined;
  /**
   * The queue's URL (or name): its name becomes `messaging.destination.name` on the messaging
   * metrics. The listener does not expose the URL it was given, so pass the one you passed it.
   * @defaultValue none: `messaging.destination.name` is left out
   */
  readonly queueUrl?: string | undefined;
}

/** What {@link instrument} returns. */
export interface Instrumentation {
  /** Removes every event listener and observable callback `instrument()` added. Safe to call twice. */
  stop(): void;
}

/**
 * Records a pipeline's (`createS3Sync`) or a bare `SqsListener`'s events on `options.meter`:
 * updates applied, skipped by reason and failed by code, propagation lag, download time and size,
 * messages consumed and processed (by outcome), SQS errors, and, read when the meter collects,
 * handlers in flight, the store version and consecutive failures. For an `S3Sync`, its listener
 * is instrumented too. Every instrument is listed in docs/metrics.md.
 *
 * Nothing is recorded before this is called, and nothing once `stop()` is.
 */
export function instrument(target: S3Sync<unknown> | SqsListener, options: InstrumentOptions): Instrumentation {
  checkOptions(options);
  const { meter } = options;
  const listener = listenerOf(target);
  const base = freezeAttributes(options.attributes);
  const messaging = freezeAttributes(
    options.attributes,
    { [ATTR.messagingSystem]: MESSAGING_SYSTEM_SQS },
    options.queueUrl === undefined ? undefined : { [ATTR.destinationName]: queueName(options.queueUrl) },
  );

  // Two instrumentations of one pipeline would count every event twice.
  const targets = listener === target ? [listener] : [target, listener];
  if (targets.some((t) => instrumented.has(t))) {
    throw new TypeError('Expected `target` not to be instrumented already: stop() the first instrumentation');
  }
  const subscriptions: Subscription[] = [];
  try {
    if (listener !== target) subscriptions.push(...instrumentSync(target as S3Sync<unknown>, meter, base));
    subscriptions.push(...instrumentListener(listener, meter, messaging));
  } catch (error) {
    // A meter that throws half-way (a broken custom implementation) must not leave listeners behind.
    for (const subscription of subscriptions) subscription.off();
    throw error;
  }

  for (const t of targets) instrumented.add(t);
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      for (const t of targets) instrumented.delete(t);
      // Every removal is tried, even after one throws (a custom meter): nothing is left attached.
      let failure: unknown;
      for (const subscription of subscriptions.splice(0)) {
        try {
          subscription.off();
        } catch (error) {
          failure ??= error;
        }
      }
      if (failure !== undefined) throw failure;
    },
  };
}

/** Syncs and listeners being recorded now, so one cannot be instrumented twice at once. */
const instrumented = new WeakSet<object>();

function checkOptions(options: InstrumentOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('Expected an options object');
  const meter = options.meter as Partial<Meter> | undefined;
  if (
    typeof meter?.createCounter !== 'function' ||
    typeof meter.createHistogram !== 'function' ||
    typeof meter.addBatchObservableCallback !== 'function'
  ) {
    throw new TypeError(`Expected \`meter\` to be an OpenTelemetry Meter, received ${String(options.meter)}`);
  }
  if (options.attributes !== undefined && (typeof options.attributes !== 'object' || options.attributes === null)) {
    throw new TypeError(`Expected \`attributes\` to be an object, received ${String(options.attributes)}`);
  }
  if (options.queueUrl !== undefined && (typeof options.queueUrl !== 'string' || options.queueUrl === '')) {
    throw new TypeError(`Expected \`queueUrl\` to be a non-empty string, received ${String(options.queueUrl)}`);
  }
}

/**
 * The listener to record: the sync's own, or the target itself. Told apart by shape, not by
 * `instanceof`: this entry is bundled apart from the main one, so its classes are other copies.
 */
function listenerOf(target: S3Sync<unknown> | SqsListener): SqsListener {
  if (typeof target !== 'object' || target === null || typeof (target as { on?: unknown }).on !== 'function') {
    throw new TypeError(`Expected \`target\` to be an S3Sync or an SqsListener, received ${String(target)}`);
  }
  if ('listener' in target && 'store' in target) return target.listener;
  if ('inFlight' in target) return target;
  throw new TypeError('Expected `target` to be an S3Sync (createS3Sync) or an SqsListener');
}
