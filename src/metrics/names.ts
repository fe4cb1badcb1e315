/**
 * Instrument names and units. Messaging metrics follow the OpenTelemetry semantic conventions for
 * messaging; the rest live under `s3_sync.`. Units are UCUM, as the conventions ask. Changing a
 * name breaks every dashboard built on it: docs/metrics.md lists them, and a test keeps the two
 * in step.
 */
export const METRICS = {
  consumedMessages: { name: 'messaging.client.consumed.messages', unit: '{message}' },
  processDuration: { name: 'messaging.process.duration', unit: 's' },
  handedBack: { name: 's3_sync.messages.handed_back', unit: '{message}' },
  sqsErrors: { name: 's3_sync.sqs.errors', unit: '{error}' },
  handlersInFlight: { name: 's3_sync.handlers.in_flight', unit: '{message}' },
  handlersAbandoned: { name: 's3_sync.handlers.abandoned', unit: '{handler}' },
  updates: { name: 's3_sync.updates', unit: '{update}' },
  propagationLag: { name: 's3_sync.propagation.lag', unit: 's' },
  downloadDuration: { name: 's3_sync.download.duration', unit: 's' },
  downloadSize: { name: 's3_sync.download.size', unit: 'By' },
  storeVersion: { name: 's3_sync.store.version', unit: '{version}' },
  consecutiveFailures: { name: 's3_sync.consecutive_failures', unit: '{update}' },
} as const;

/** Attribute keys: the conventions' own where one fits. */
export const ATTR = {
  messagingSystem: 'messaging.system',
  destinationName: 'messaging.destination.name',
  operationName: 'messaging.operation.name',
  errorType: 'error.type',
  operation: 's3_sync.operation',
  handBackReason: 's3_sync.hand_back.reason',
  outcome: 's3_sync.outcome',
  skipReason: 's3_sync.skip_reason',
  origin: 's3_sync.update.origin',
  permanent: 's3_sync.failure.permanent',
} as const;

/** The conventions' well-known `messaging.system` value for Amazon SQS. */
export const MESSAGING_SYSTEM_SQS = 'aws_sqs';

/**
 * `ValueType.INT` of `@opentelemetry/api`, by value: this module imports only the API's types, so
 * loading it never loads the API (the value has been 0 since the enum was added in 1.0).
 */
export const VALUE_TYPE_INT = 0;

/**
 * The buckets the messaging conventions give for durations in seconds, stretched to two minutes:
 * a large object or a slow handler is what these histograms exist to show.
 */
export const DURATION_BUCKETS_S = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 120,
] as const;

/** S3 event delivery usually takes well under a second; minutes mean a stuck queue or a replica behind. */
export const LAG_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600] as const;

/** Object sizes, 1 KiB to 1 GiB in powers of four (the default buckets stop at 10 000). */
export const SIZE_BUCKETS_BY = Array.from({ length: 11 }, (_, i) => 1024 * 4 ** i);
