import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const script = fileURLToPath(new URL('./record-imports.mjs', import.meta.url));
const source = (path: string) => new URL(`../../src/${path}`, import.meta.url).href;

const isOpenTelemetry = (url: string) => url.includes('/node_modules/@opentelemetry/');

/**
 * A fresh Node process imports the sources (Node strips their types; `import type` leaves nothing)
 * and reports every module it resolved. Any path to OpenTelemetry, direct or through a dependency,
 * would show up there.
 */
async function resolvedAfter(...entries: string[]): Promise<{ entry: string; resolved: string[] }[]> {
  const { stdout } = await run(process.execPath, [script, ...entries], { cwd: root, timeout: 30_000 });
  return JSON.parse(stdout);
}

describe('s3-sqs-sync/metrics', () => {
  it('is the only way in: the core import loads no OpenTelemetry module, nor does the metrics module itself', async () => {
    const [core, metrics, api] = await resolvedAfter(
      source('index.ts'),
      source('metrics/index.ts'),
      '@opentelemetry/api',
    );

    // The hook saw the whole graph: the pipeline and the AWS SDK it imports.
    expect(core?.resolved).toContain(source('sync/sync.ts'));
    expect(core?.resolved.some((url) => url.includes('/node_modules/@aws-sdk/'))).toBe(true);
    expect(core?.resolved.filter(isOpenTelemetry)).toEqual([]);

    // The metrics module only names the API's types: the meter is injected.
    expect(metrics?.resolved).toContain(source('metrics/listener.ts'));
    expect(metrics?.resolved.filter(isOpenTelemetry)).toEqual([]);

    // And the hook does see OpenTelemetry when something loads it.
    expect(api?.resolved.filter(isOpenTelemetry).length).toBeGreaterThan(0);
  });
});
