import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'demo-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Writes a module for `--import` that makes `examples/demo.ts` import `replacements[specifier]`
 * (files written beside it) instead of `specifier`, leaving the demo itself unchanged.
 */
async function writeHook(name: string, replacements: Record<string, { file: string; text: string }>): Promise<string> {
  const urls: Record<string, string> = {};
  for (const [specifier, { file, text }] of Object.entries(replacements)) {
    await writeFile(join(dir, file), text);
    urls[specifier] = pathToFileURL(join(dir, file)).href;
  }
  const hook = join(dir, name);
  const resolver = `
    const urls = ${JSON.stringify(urls)};
    export async function resolve(specifier, context, next) {
      if (urls[specifier] !== undefined && context.parentURL?.endsWith('/examples/demo.ts'))
        return { url: urls[specifier], shortCircuit: true };
      return next(specifier, context);
    }`;
  await writeFile(
    hook,
    `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(resolver)}`)});\n`,
  );
  return hook;
}

/** Runs `examples/demo.ts` on the sources, as `npm run demo` runs it on the build. */
async function runDemo(
  env: Record<string, string> = {},
  hooks: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const imports = ['./test/support/source-hooks.mjs', ...hooks].flatMap((hook) => ['--import', hook]);
  const child = spawn(process.execPath, [...imports, 'examples/demo.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 18_000);
  try {
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

const STEPS = [
  'start the emulator',
  'create bucket and topic',
  'create a queue per replica',
  'start 2 replicas',
  'publish v1',
  'publish v2',
  'publish an invalid file',
  'publish v3',
  'stop',
];

describe('examples/demo.ts', () => {
  it('runs every step, checks it, and exits 0 on its own', { timeout: 20_000 }, async () => {
    const { code, stdout, stderr } = await runDemo();
    // Node 22 warns once that the emulator's node:sqlite is experimental; nothing else may appear.
    const errors = stderr
      .split('\n')
      .filter((line) => line !== '' && !/ExperimentalWarning: SQLite|node --trace-warnings/.test(line));
    expect({ code, errors }).toStrictEqual({ code: 0, errors: [] });
    const lines = stdout.trim().split('\n');
    // `  ok   12 ms  <step>  <what happened>`: one line per step, in order, with its duration.
    const steps = lines.slice(1, -1).map((line) => line.match(/^ {2}ok +\d+ ms {2}(.+?) {2,}/)?.[1]?.trim());
    expect(steps).toStrictEqual(STEPS);
    expect(lines.at(-1)).toMatch(/^demo passed: 9 steps in \d+ ms$/);
    expect(stdout).toMatch(/publish v2 +v2 \(4 servers\) .* both replicas serve it \d+ ms after the upload/);
    expect(stdout).toMatch(/publish an invalid file +.*refused by both .*\/health 503 degraded: ERR_VERIFY_FAILED/);
    expect(stdout).toMatch(/publish v3 +recovered: v3 \(5 servers\) .* both replicas serve it/);
    expectServedWithinStep(stdout);
  });

  it('exits 1 naming the step that failed, after cleaning up', { timeout: 20_000 }, async () => {
    // A 1 ms limit per step: the first step that waits on I/O fails, and the rest never run.
    const { code, stdout } = await runDemo({ DEMO_STEP_TIMEOUT_MS: '1' });
    expect(code).toBe(1);
    expect(stdout).toMatch(/^FAILED at step "[a-z0-9 ]+": no result within 1 ms$/m);
    expect(stdout).not.toMatch(/demo passed/);
  });

  it('counts "serve it N ms after the upload" from before the upload, even when the SNS answer comes late', {
    timeout: 20_000,
  }, async () => {
    // The SNS Publish answer reaches the demo 300 ms after the emulator fanned the message out (a
    // slow network on the publisher's side), so the replicas apply the update before it returns.
    const sns = pathToFileURL(createRequire(import.meta.url).resolve('@aws-sdk/client-sns')).href;
    const hook = await writeHook('slow-sns-hook.mjs', {
      '@aws-sdk/client-sns': {
        file: 'slow-sns.mjs',
        text: `import sns from ${JSON.stringify(sns)};
export const { CreateTopicCommand, PublishCommand } = sns;
export class SNSClient extends sns.SNSClient {
  async send(command) {
    const output = await super.send(command);
    if (command instanceof sns.PublishCommand) await new Promise((resolve) => setTimeout(resolve, 300));
    return output;
  }
}
`,
      },
    });
    const { code, stdout } = await runDemo({}, [hook]);
    expect({ code, last: stdout.trim().split('\n').at(-1) }).toMatchObject({
      code: 0,
      last: expect.stringMatching(/^demo passed/),
    });
    expectServedWithinStep(stdout);
  });

  it('waits for a step that timed out while starting replicas, closes them, and exits 1', {
    timeout: 20_000,
  }, async () => {
    // startRegistry returns only after the step's limit has passed (a slow disk, say): the step is
    // given up, but the replica it was starting still comes up and must be closed.
    const server = pathToFileURL(join(ROOT, 'examples/express-registry/server.ts')).href;
    const hook = await writeHook('slow-start-hook.mjs', {
      './express-registry/server.ts': {
        file: 'slow-server.mjs',
        text: `import { startRegistry as start } from ${JSON.stringify(server)};
export async function startRegistry(options) {
  // Set after the step's own timer, for longer: it always fires after the step has timed out.
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.DEMO_STEP_TIMEOUT_MS) + 200));
  const registry = await start(options);
  process.stderr.write('late replica started\\n');
  const close = registry.close;
  return { ...registry, close: () => close().then(() => process.stderr.write('late replica closed\\n')) };
}
`,
      },
    });
    const { code, stdout, stderr } = await runDemo({ DEMO_STEP_TIMEOUT_MS: '2000' }, [hook]);
    expect({ code, stdout, stderr }).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/^FAILED at step "start 2 replicas": no result within 2000 ms$/m),
      stderr: expect.stringMatching(/late replica started\nlate replica closed\n/),
    });
  });
});

/** Each publish step says its replicas served the update no later than the step itself took. */
function expectServedWithinStep(stdout: string): void {
  const lines = stdout.split('\n').filter((line) => /both replicas serve it/.test(line));
  expect(lines).toHaveLength(3);
  for (const line of lines) {
    const [, step = '', served = ''] = line.match(/^ {2}ok +(\d+) ms .* serve it (\d+) ms after the upload/) ?? [];
    expect({ line, within: Number(served) <= Number(step) }).toStrictEqual({ line, within: true });
  }
}
