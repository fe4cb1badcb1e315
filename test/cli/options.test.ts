import { describe, expect, it } from 'vitest';
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
