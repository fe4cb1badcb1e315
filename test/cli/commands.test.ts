import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const cli = runCli(args, env);
  const { code } = await cli.exited;
  return { code, stdout: cli.lines.map((line) => line.msg).join('\n'), stderr: cli.stderr(), lines: cli.lines };
}

const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/replica-a';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-cli-'));
});
afterAll(async () => {
  await chmod(dir, 0o700).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('s3-sqs-sync', () => {
  describe('parse', () => {
    it('prints the parsed location as JSON', async () => {
      const result = await run(['parse', 'https://my-bucket.s3.eu-west-1.amazonaws.com/v0/a%20b.json?versionId=3']);
      expect(result.code).toBe(0);
      expect(result.lines[0]).toEqual({
        bucket: 'my-bucket',
        key: 'v0/a b.json',
        region: 'eu-west-1',
        versionId: '3',
        style: 'virtual-hosted',
      });
    });

    it('exits 1 with the reason for a URL that is not an S3 object URL', async () => {
      const result = await run(['parse', 'https://s3.amazonaws.com.evil.com/bucket/key']);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^s3-sqs-sync parse: .*not an AWS S3 host/);
    });
  });

  describe('--help', () => {
    it.each([
      [['--help'], /Commands:/],
      [['sync', '--help'], /--verify-cmd CMD/],
      [['parse', '--help'], /Usage: s3-sqs-sync parse <url>/],
      [['replica-queue', '--help'], /sweep --older-than-ms/],
      [['replica-queue', 'create', '--help'], /create --topic-arn ARN/],
    ])('prints usage for %j and exits 0', async (args, text) => {
      const result = await run(args);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(text);
    });
  });

  it('prints the package version for --version, -v and version', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    for (const flag of ['--version', '-v', 'version']) {
      expect(await run([flag])).toMatchObject({ code: 0, stdout: version });
    }
  });

  it('points an unknown command to the list of commands, not to its own help', async () => {
    const result = await run(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Run "s3-sqs-sync --help" for usage.');
    expect((await run(['sync', '--bogus'])).stderr).toContain('Run "s3-sqs-sync sync --help" for usage.');
  });

  describe('bad flags', () => {
    it.each([
      [['frobnicate'], /unknown command "frobnicate"/],
      [['sync', '--bogus'], /sync: Unknown option '--bogus'/],
      [['sync', '--target', '/tmp/x.json', '--source', 's3://b-1/k'], /--queue-url is required/],
      [['sync', '--queue-url', QUEUE, '--target', '/tmp/x.json'], /--source or --allow-bucket is required/],
      [
        ['sync', '--queue-url', QUEUE, '--target', '/tmp/x.json', '--source', 'https://example.com/k'],
        /--source must be an S3 object URL/,
      ],
      [
        [
          'sync',
          '--queue-url',
          QUEUE,
          '--target',
          '/tmp/x.json',
          '--source',
          's3://b-1/k',
          '--reconcile-interval',
          'soon',
        ],
        /--reconcile-interval must be a duration/,
      ],
      [
        ['sync', '--queue-url', QUEUE, '--target', '/tmp/x.json', '--source', 's3://b-1/k', '--signal', 'HUP'],
        /--signal needs --pid-file or --pid/,
      ],
      [
        [
          'sync',
          '--queue-url',
          QUEUE,
          '--target',
          '/tmp/x.json',
          '--source',
          's3://b-1/k',
          '--signal',
          'NOPE',
          '--pid',
          '1',
        ],
        /--signal must be a signal name/,
      ],
      [
        [
          'sync',
          '--queue-url',
          QUEUE,
          '--target',
          '/tmp/x.json',
          '--source',
          's3://b-1/k',
          '--format',
          'raw',
          '--schema',
          's.json',
        ],
        /--schema needs --format json/,
      ],
      [
        ['sync', '--queue-url', QUEUE, '--target', '/tmp/x.json', '--allow-prefix', 'v0/'],
        /--allow-prefix needs --allow-bucket/,
      ],
      [
        [
          'sync',
          '--queue-url',
          QUEUE,
          '--target',
          '/tmp/x.json',
          '--source',
          's3://b-1/k',
          '--expected-bucket-owner',
          'abc',
        ],
        /--expected-bucket-owner must be a 12-digit AWS account id, received "abc"/,
      ],
      [
        ['sync', '--queue-url', QUEUE, '--target', '/tmp/x.json', '--allow-bucket', 'Bad!'],
        /--allow-bucket: "Bad!" is not an S3 bucket name/,
      ],
      [['sync', '--queue-url', QUEUE, '--target', '/tmp/x.json', '--allow-bucket='], /--allow-bucket: "" is not/],
      [['replica-queue', 'create'], /--topic-arn is required/],
      [['replica-queue', 'sweep', '--older-than-ms', '10'], /--older-than-ms must be an integer from 60000/],
    ])('%j exits 2 with a message', async (args, message) => {
      const result = await run(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/--help" for usage/);
    });

    it('names a malformed environment variable', async () => {
      const result = await run(['sync', '--source', 's3://b-1/k', '--target', '/tmp/x.json'], {
        MCP_REGISTRY_SQS_WAIT_TIME_SECONDS: '99',
        MCP_REGISTRY_SQS_QUEUE_URL: QUEUE,
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/MCP_REGISTRY_SQS_WAIT_TIME_SECONDS must be an integer from 0 to 20/);
    });

    it('exits 2 for an allow-listed bucket variable that is no bucket name', async () => {
      const result = await run(['sync', '--queue-url', QUEUE, '--target', '/tmp/x.json'], {
        MCP_REGISTRY_S3_ALLOWED_BUCKETS: 'registry-prod,Bad!',
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/MCP_REGISTRY_S3_ALLOWED_BUCKETS: "Bad!" is not an S3 bucket name/);
    });

    it('exits 2 when the target directory does not exist, before anything starts', async () => {
      const result = await run([
        'sync',
        '--queue-url',
        QUEUE,
        '--source',
        's3://b-1/k',
        '--target',
        join(dir, 'nope', 'r.json'),
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/--target: the directory .*nope cannot be read/);
      expect(result.lines).toEqual([]);
    });

    it.skipIf(process.getuid?.() === 0)('exits 2 when the target directory is not writable', async () => {
      const readOnly = join(dir, 'read-only');
      await import('node:fs/promises').then(({ mkdir }) => mkdir(readOnly));
      await chmod(readOnly, 0o500);
      const result = await run([
        'sync',
        '--queue-url',
        QUEUE,
        '--source',
        's3://b-1/k',
        '--target',
        join(readOnly, 'r.json'),
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/is not writable by this user/);
    });
  });

  it('takes its settings from the MCP_REGISTRY_ variables, as s3SyncOptionsFromEnv reads them', async () => {
    // Everything but the target directory is valid: the command gets as far as checking it.
    const result = await run(['sync'], {
      MCP_REGISTRY_SQS_QUEUE_URL: QUEUE,
      MCP_REGISTRY_S3_URL: 's3://registry-prod/v0/registry.json',
      MCP_REGISTRY_JSON_FILE_PATH: join(dir, 'missing-dir', 'registry.json'),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/missing-dir cannot be read/);
  });
});
