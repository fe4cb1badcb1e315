import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';

/**
 * The SDK clients, configured as the AWS SDK configures itself: region, credentials and endpoints
 * from its own variables and files (`AWS_REGION`, `AWS_PROFILE`, `AWS_ACCESS_KEY_ID`,
 * `AWS_ENDPOINT_URL_S3`, …). Loaded on first use so `parse` and `--help` never load the SDK.
 */
export async function s3Client(env: NodeJS.ProcessEnv = process.env): Promise<S3Client> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  // The SDK reads no variable for path-style addressing, and S3-compatible endpoints (MinIO, an
  // emulator) mostly need it: a custom endpoint turns it on.
  const custom = env.AWS_ENDPOINT_URL_S3 !== undefined || env.AWS_ENDPOINT_URL !== undefined;
  return new S3Client(custom ? { forcePathStyle: true } : {});
}

export async function sqsClient(env: NodeJS.ProcessEnv = process.env): Promise<SQSClient> {
  const { SQSClient } = await import('@aws-sdk/client-sqs');
  // By default the SDK sends to the queue URL's host; with an endpoint set in the environment (a
  // VPC endpoint, an emulator), that endpoint is the one meant.
  const custom = env.AWS_ENDPOINT_URL_SQS !== undefined || env.AWS_ENDPOINT_URL !== undefined;
  return new SQSClient(custom ? { useQueueUrlAsEndpoint: false } : {});
}

export async function snsClient(): Promise<SNSClient> {
  const { SNSClient } = await import('@aws-sdk/client-sns');
  return new SNSClient({});
}

const AUTH_FAILURES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidAccessKeyId',
  'InvalidClientTokenId',
  'InvalidSecurity',
  'MissingAuthenticationToken',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'AWS.SimpleQueueService.NonExistentQueue',
  'QueueDoesNotExist',
]);

/**
 * True for a failure no retry will fix at start: credentials missing, refused or expired, or a
 * queue that does not exist. (A network failure may be a sidecar starting before its network: it
 * is retried instead.)
 */
export function isStartFatal(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const { code, Code, $metadata } = current as {
      code?: unknown;
      Code?: unknown;
      $metadata?: { httpStatusCode?: number };
    };
    if (AUTH_FAILURES.has(current.name)) return true;
    if (typeof code === 'string' && (AUTH_FAILURES.has(code) || code === 'ERR_ACCESS_DENIED')) return true;
    if (typeof Code === 'string' && AUTH_FAILURES.has(Code)) return true;
    if ($metadata?.httpStatusCode === 401 || $metadata?.httpStatusCode === 403) return true;
    current = current.cause;
  }
  return false;
}
