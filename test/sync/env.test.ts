import { describe, expect, it } from 'vitest';
import { isS3SyncError, s3SyncOptionsFromEnv } from '../../src/index.ts';

const base = {
  MCP_REGISTRY_SQS_ENABLED: 'true',
  MCP_REGISTRY_SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/registry-replica-1',
  MCP_REGISTRY_JSON_FILE_PATH: '/var/lib/registry/registry.json',
  MCP_REGISTRY_S3_URL: 's3://registry-prod/v0/registry.json',
};

describe('s3SyncOptionsFromEnv', () => {
  it("reads the Go registry's variables and the pipeline's own", () => {
    expect(
      s3SyncOptionsFromEnv({
        ...base,
        MCP_REGISTRY_S3_URL: undefined,
        MCP_REGISTRY_S3_ALLOWED_BUCKETS: 'registry-prod, registry-staging',
        MCP_REGISTRY_S3_ALLOWED_KEY_PREFIXES: 'v0/',
        MCP_REGISTRY_SQS_WAIT_TIME_SECONDS: '10',
        MCP_REGISTRY_RECONCILE_INTERVAL_MS: '60000',
      }),
    ).toEqual({
      enabled: true,
      sqs: { queueUrl: base.MCP_REGISTRY_SQS_QUEUE_URL, waitTimeSeconds: 10 },
      target: '/var/lib/registry/registry.json',
      allow: { buckets: ['registry-prod', 'registry-staging'], keyPrefixes: ['v0/'] },
      reconcileIntervalMs: 60000,
    });
  });

  it('is disabled with nothing set, and then requires nothing', () => {
    expect(s3SyncOptionsFromEnv({})).toMatchObject({ enabled: false });
  });

  it('takes another prefix', () => {
    const env = Object.fromEntries(Object.entries(base).map(([k, v]) => [k.replace('MCP_REGISTRY_', 'GATEWAY_'), v]));
    expect(s3SyncOptionsFromEnv(env, { prefix: 'GATEWAY_' }).source).toEqual({
      bucket: 'registry-prod',
      key: 'v0/registry.json',
    });
  });

  it.each([
    [{ MCP_REGISTRY_SQS_ENABLED: 'maybe' }, 'MCP_REGISTRY_SQS_ENABLED'],
    [{ MCP_REGISTRY_SQS_QUEUE_URL: undefined }, 'MCP_REGISTRY_SQS_QUEUE_URL'],
    [{ MCP_REGISTRY_SQS_QUEUE_URL: 'registry-replica-1' }, 'MCP_REGISTRY_SQS_QUEUE_URL'],
    [{ MCP_REGISTRY_JSON_FILE_PATH: '' }, 'MCP_REGISTRY_JSON_FILE_PATH'],
    [{ MCP_REGISTRY_S3_URL: 'https://example.com/registry.json' }, 'MCP_REGISTRY_S3_URL'],
    [{ MCP_REGISTRY_S3_URL: undefined }, 'MCP_REGISTRY_S3_URL'],
    [{ MCP_REGISTRY_SQS_WAIT_TIME_SECONDS: '21' }, 'MCP_REGISTRY_SQS_WAIT_TIME_SECONDS'],
    [{ MCP_REGISTRY_SQS_WAIT_TIME_SECONDS: '1.5' }, 'MCP_REGISTRY_SQS_WAIT_TIME_SECONDS'],
    [{ MCP_REGISTRY_RECONCILE_INTERVAL_MS: '-1' }, 'MCP_REGISTRY_RECONCILE_INTERVAL_MS'],
    [{ MCP_REGISTRY_S3_ALLOWED_KEY_PREFIXES: 'v0/' }, 'MCP_REGISTRY_S3_ALLOWED_BUCKETS'],
    [{ MCP_REGISTRY_S3_ALLOWED_BUCKETS: 'registry-prod' }, 'MCP_REGISTRY_S3_ALLOWED_BUCKETS'],
    [{ MCP_REGISTRY_S3_URL: undefined, MCP_REGISTRY_S3_ALLOWED_BUCKETS: ',' }, 'MCP_REGISTRY_S3_ALLOWED_BUCKETS'],
    [
      {
        MCP_REGISTRY_S3_URL: undefined,
        MCP_REGISTRY_S3_ALLOWED_BUCKETS: 'b',
        MCP_REGISTRY_S3_ALLOWED_KEY_PREFIXES: ' , ',
      },
      'MCP_REGISTRY_S3_ALLOWED_KEY_PREFIXES',
    ],
  ])('refuses %j with an ERR_CONFIG naming %s', (override, variable) => {
    let thrown: unknown;
    try {
      s3SyncOptionsFromEnv({ ...base, ...override });
    } catch (error) {
      thrown = error;
    }
    expect(isS3SyncError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ code: 'ERR_CONFIG', variable });
    expect((thrown as Error).message).toContain(variable);
  });
});
