import type { Attributes, Meter } from '@opentelemetry/api';
import type { S3Sync } from '../sync/sync.ts';
import type { S3SyncEventMap } from '../sync/types.ts';
import { errorType } from './attributes.ts';
import { ATTR, DURATION_BUCKETS_S, LAG_BUCKETS_S, METRICS, SIZE_BUCKETS_BY, VALUE_TYPE_INT } from './names.ts';
import { observe, type Subscription, subscribe } from './subscriptions.ts';

type Events = S3SyncEventMap<unknown>;

/**
 * Records an `S3Sync`'s own events: updates by outcome (applied, skipped by reason, failed by
 * code), propagation lag, download time and size, and (read at collection) the store version
 * and the failures since the last success. The listener it runs is instrumented apart.
 */
export function instrumentSync(sync: S3Sync<unknown>, meter: Meter, base: Attributes): Subscription[] {
  const updates = meter.createCounter(METRICS.updates.name, {
    description: 'Announced updates by outcome: applied, skipped (s3_sync.skip_reason) or failed (error.type).',
    unit: METRICS.updates.unit,
    valueType: VALUE_TYPE_INT,
  });
  const lag = meter.createHistogram(METRICS.propagationLag.name, {
    description: 'Time from the S3 event to the new data served, for updates announced by an event.',
    unit: METRICS.propagationLag.unit,
    advice: { explicitBucketBoundaries: [...LAG_BUCKETS_S] },
  });
  const downloadDuration = meter.createHistogram(METRICS.downloadDuration.name, {
    description: 'Time from the start of a download to the new data served (download, validation, publish).',
    unit: METRICS.downloadDuration.unit,
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_S] },
  });
  const downloadSize = meter.createHistogram(METRICS.downloadSize.name, {
    description: 'Size of each object downloaded and applied; its sum is the bytes downloaded.',
    unit: METRICS.downloadSize.unit,
    valueType: VALUE_TYPE_INT,
    advice: { explicitBucketBoundaries: SIZE_BUCKETS_BY },
  });
  const version = meter.createObservableGauge(METRICS.storeVersion.name, {
    description: 'Version of the data served (0 before any); one more per update applied.',
    unit: METRICS.storeVersion.unit,
    valueType: VALUE_TYPE_INT,
  });
  const failures = meter.createObservableGauge(METRICS.consecutiveFailures.name, {
    description: 'Failed updates since the last success.',
    unit: METRICS.consecutiveFailures.unit,
    valueType: VALUE_TYPE_INT,
  });

  return [
    subscribe<Events, 'update_applied'>(sync, 'update_applied', (info) => {
      const attributes = { ...base, [ATTR.origin]: info.update.origin };
      updates.add(1, { ...attributes, [ATTR.outcome]: 'applied' });
      downloadDuration.record(info.durationMs / 1000, attributes);
      downloadSize.record(info.bytes, attributes);
      // Clocks differ between S3 and this host: an event time after now is skew, not a
      // measurement (the pipeline's own lagMs is capped at 0 for health(), so it cannot tell).
      const eventTime = info.update.eventTime;
      const lagMs = eventTime === undefined ? undefined : Date.now() - eventTime.getTime();
      if (lagMs !== undefined && lagMs >= 0) lag.record(lagMs / 1000, attributes);
    }),
    subscribe<Events, 'update_skipped'>(sync, 'update_skipped', (update, reason) => {
      updates.add(1, { ...base, [ATTR.origin]: update.origin, [ATTR.outcome]: 'skipped', [ATTR.skipReason]: reason });
    }),
    subscribe<Events, 'update_failed'>(sync, 'update_failed', (error, info) => {
      updates.add(1, {
        ...base,
        ...(info.update === undefined ? {} : { [ATTR.origin]: info.update.origin }),
        [ATTR.outcome]: 'failed',
        [ATTR.errorType]: errorType(error),
        [ATTR.permanent]: info.permanent,
      });
    }),
    observe(
      meter,
      (result) => {
        const health = sync.health();
        result.observe(version, health.version, base);
        result.observe(failures, health.consecutiveFailures, base);
      },
      [version, failures],
    ),
  ];
}
