import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args.ts';
import { parseSyncArgs, type SyncConfig } from '../../src/cli/sync-options.ts';

const BASE = ['--queue-url', 'http://127.0.0.1:9/000000000000/q', '--target', '/tmp/f.json'];

function config(argv: string[], env: NodeJS.ProcessEnv): SyncConfig {
  const parsed = parseSyncArgs([...BASE, ...argv], env);
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.config;
}

function usageError(argv: string[], env: NodeJS.ProcessEnv): UsageError {
  try {
    config(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected a usage error');
}

describe('sync: flags win over the environment', () => {
  it('--source drops an inherited allow-list', () => {
    const env = { MCP_REGISTRY_S3_ALLOWED_BUCKETS: 'other-bucket', MCP_REGISTRY_S3_ALLOWED_KEY_PREFIXES: 'v0/' };
    const result = config(['--source', 's3://bucket-x/k.json'], env);
    expect(result.source).toEqual({ bucket: 'bucket-x', key: 'k.json' });
    expect(result.allow).toBeUndefined();
  });

  it('--source drops inherited key prefixes that come without buckets', () => {
    const result = config(['--source', 's3://bucket-x/k.json'], { MCP_REGISTRY_S3_ALLOWED_KEY_PREFIXES: 'v0/' });
    expect(result.source).toEqual({ bucket: 'bucket-x', key: 'k.json' });
    expect(result.allow).toBeUndefined();
  });

  it('--allow-bucket drops an inherited S3_URL', () => {
    const result = config(['--allow-bucket', 'bucket-y'], { MCP_REGISTRY_S3_URL: 's3://bucket-x/k.json' });
    expect(result.source).toBeUndefined();
    expect(result.allow).toEqual({ buckets: ['bucket-y'] });
  });

  it('--allow-prefix drops an inherited S3_URL and keeps the inherited buckets', () => {
    const env = { MCP_REGISTRY_S3_URL: 's3://bucket-x/k.json', MCP_REGISTRY_S3_ALLOWED_BUCKETS: 'bucket-z' };
    // The environment alone conflicts, but the flag replaces one side of it.
    expect(() => config(['--allow-prefix', 'v1/'], env)).not.toThrow();
    const result = config(['--allow-prefix', 'v1/'], { MCP_REGISTRY_S3_ALLOWED_BUCKETS: 'bucket-z' });
    expect(result.allow).toEqual({ buckets: ['bucket-z'], keyPrefixes: ['v1/'] });
    expect(result.source).toBeUndefined();
  });

  it('honours --env-prefix when dropping variables', () => {
    const result = config(['--env-prefix', 'APP_', '--source', 's3://bucket-x/k.json'], {
      APP_S3_ALLOWED_BUCKETS: 'other',
    });
    expect(result.allow).toBeUndefined();
  });

  it('refuses --source with --allow-bucket or --allow-prefix, naming both', () => {
    for (const flag of ['--allow-bucket', '--allow-prefix']) {
      const error = usageError(['--source', 's3://bucket-x/k.json', flag, 'v'], {});
      expect(error.message).toMatch(/--source.*--allow-bucket.*not both/);
    }
  });

  it('still refuses a conflict within the environment alone, naming both variables', () => {
    const error = usageError([], {
      MCP_REGISTRY_S3_URL: 's3://bucket-x/k.json',
      MCP_REGISTRY_S3_ALLOWED_BUCKETS: 'other-bucket',
    });
    expect(error.message).toMatch(/MCP_REGISTRY_S3_ALLOWED_BUCKETS.*MCP_REGISTRY_S3_URL/);
  });
});

describe('sync: a variable a flag replaces is neither required nor checked', () => {
  it('takes --queue-url although MCP_REGISTRY_SQS_ENABLED=true comes without a queue URL variable', () => {
    const result = config(['--source', 's3://bucket-x/k.json'], { MCP_REGISTRY_SQS_ENABLED: 'true' });
    expect(result.queueUrl).toBe('http://127.0.0.1:9/000000000000/q');
    expect(result.target).toBe('/tmp/f.json');
  });

  it('takes --queue-url and --target over malformed or empty variables they replace', () => {
    const result = config(['--source', 's3://bucket-x/k.json', '--wait-time-seconds', '5'], {
      MCP_REGISTRY_SQS_ENABLED: 'true',
      MCP_REGISTRY_SQS_QUEUE_URL: 'not a url',
      MCP_REGISTRY_JSON_FILE_PATH: '',
      MCP_REGISTRY_SQS_WAIT_TIME_SECONDS: '99',
    });
    expect(result.queueUrl).toBe('http://127.0.0.1:9/000000000000/q');
    expect(result.waitTimeSeconds).toBe(5);
  });

  it('--allow-bucket keeps inherited key prefixes instead of refusing them for want of buckets', () => {
    const result = config(['--allow-bucket', 'registry-prod'], { MCP_REGISTRY_S3_ALLOWED_KEY_PREFIXES: 'v0/, v1/' });
    expect(result.allow).toEqual({ buckets: ['registry-prod'], keyPrefixes: ['v0/', 'v1/'] });
  });

  it('still names a malformed queue URL variable when no flag replaces it', () => {
    expect(() =>
      parseSyncArgs(['--target', '/tmp/f.json', '--source', 's3://bucket-x/k'], { MCP_REGISTRY_SQS_QUEUE_URL: 'nope' }),
    ).toThrow(/MCP_REGISTRY_SQS_QUEUE_URL must be an SQS queue URL/);
  });
});

describe('sync: allow-listed buckets', () => {
  it.each([
    [['--allow-bucket', 'Bad!'], {}, /--allow-bucket: "Bad!" is not an S3 bucket name/],
    [['--allow-bucket='], {}, /--allow-bucket: "" is not an S3 bucket name/],
    [['--allow-bucket', 'ok-bucket', '--allow-bucket', '10.0.0.1'], {}, /"10.0.0.1" is not/],
    [[], { MCP_REGISTRY_S3_ALLOWED_BUCKETS: 'Bad!' }, /MCP_REGISTRY_S3_ALLOWED_BUCKETS: "Bad!" is not/],
    [
      ['--allow-prefix', 'v0/'],
      { MCP_REGISTRY_S3_ALLOWED_BUCKETS: 'a' },
      /MCP_REGISTRY_S3_ALLOWED_BUCKETS: "a" is not/,
    ],
  ])('refuses %j %j as a usage error', (argv, env, message) => {
    expect(usageError(argv, env).message).toMatch(message);
  });

  it('takes valid names from the flag and from the variable', () => {
    expect(config(['--allow-bucket', 'registry-prod'], {}).allow?.buckets).toEqual(['registry-prod']);
    expect(config([], { MCP_REGISTRY_S3_ALLOWED_BUCKETS: 'a-1,b.2' }).allow?.buckets).toEqual(['a-1', 'b.2']);
  });
});

describe('sync: --expected-bucket-owner', () => {
  it('takes a 12-digit account id', () => {
    const result = config(['--source', 's3://bucket-x/k', '--expected-bucket-owner', '123456789012'], {});
    expect(result.expectedBucketOwner).toBe('123456789012');
  });

  it.each(['abc', '12345678901', '1234567890123', ' 123456789012'])('refuses %j as a usage error', (owner) => {
    const error = usageError(['--source', 's3://bucket-x/k', '--expected-bucket-owner', owner], {});
    expect(error.message).toMatch(/--expected-bucket-owner must be a 12-digit AWS account id/);
  });
});

describe('sync: --queue-url-file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-queue-file-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const parsed = parseSyncArgs(['--target', '/tmp/f.json', '--source', 's3://bucket-x/k', ...argv], env);
    if (parsed.help) throw new Error('unexpected --help');
    return parsed.config;
  };

  it('reads the queue URL from a file holding the URL alone', async () => {
    const file = join(dir, 'queue-url');
    await writeFile(file, 'https://sqs.eu-west-1.amazonaws.com/123456789012/registry-replica-a\n');
    expect(parse(['--queue-url-file', file]).queueUrl).toBe(
      'https://sqs.eu-west-1.amazonaws.com/123456789012/registry-replica-a',
    );
  });

  it('reads the queueUrl of the JSON "replica-queue create" prints, over an inherited variable', async () => {
    const file = join(dir, 'queue.json');
    const created = {
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/registry-replica-b',
      queueArn: 'arn:aws:sqs:eu-west-1:123456789012:registry-replica-b',
      queueName: 'registry-replica-b',
      replicaId: 'b',
      topicArn: 'arn:aws:sns:eu-west-1:123456789012:registry',
      subscriptionArn: 'arn:aws:sns:eu-west-1:123456789012:registry:1',
    };
    await writeFile(file, `${JSON.stringify(created)}\n`);
    const env = { MCP_REGISTRY_SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/shared' };
    expect(parse(['--queue-url-file', file], env).queueUrl).toBe(created.queueUrl);
  });

  it.each([
    ['a missing file', null, /--queue-url-file: .* cannot be read/],
    ['a file without a URL', 'hello', /must hold an SQS queue URL or the JSON of "replica-queue create"/],
    ['JSON without queueUrl', '{"queueArn":"x"}', /has no "queueUrl"/],
    ['broken JSON', '{"queueUrl":', /is not valid JSON/],
  ])('refuses %s as a usage error', async (_, content, message) => {
    const file = join(dir, 'queue-url');
    if (content !== null) await writeFile(file, content);
    expect(() => parse(['--queue-url-file', file])).toThrow(UsageError);
    expect(() => parse(['--queue-url-file', file])).toThrow(message);
  });

  it('refuses --queue-url with --queue-url-file', async () => {
    const file = join(dir, 'queue-url');
    await writeFile(file, 'http://127.0.0.1:9/000000000000/q');
    expect(() => parse(['--queue-url-file', file, '--queue-url', 'http://127.0.0.1:9/000000000000/q'])).toThrow(
      /--queue-url or --queue-url-file, not both/,
    );
  });
});
