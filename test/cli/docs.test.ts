import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** The IAM actions a source file's AWS commands need: `new XCommand(` → `sqs:X` or `sns:X`. */
function actionsOf(path: string): string[] {
  const source = read(path);
  const service = new Map<string, string>();
  const imports =
    /(?:import\s*(?:type\s*)?\{([^}]*)\}\s*from|const\s*\{([^}]*)\}\s*=\s*await\s+import\()\s*'@aws-sdk\/client-(sqs|sns)'/g;
  for (const [, named = '', dynamic = '', client = ''] of source.matchAll(imports)) {
    for (const name of `${named},${dynamic}`.split(',')) {
      const trimmed = name.replace(/^\s*type\s+/, '').trim();
      if (trimmed.endsWith('Command')) service.set(trimmed, client);
    }
  }
  // The SNS client is loaded on first use (`loadSns()`, an optional peer dependency).
  for (const [, named = ''] of source.matchAll(/const\s*\{([^}]*)\}\s*=\s*await\s+loadSns\(\)/g)) {
    for (const name of named.split(',')) service.set(name.trim(), 'sns');
  }
  const actions = new Set<string>();
  for (const [, name = ''] of source.matchAll(/new (\w+Command)\(/g)) {
    const client = service.get(name);
    if (client === undefined) throw new Error(`${path}: ${name} is not imported from an AWS SDK client`);
    // SQS authorises a batch call with the single call's action.
    actions.add(`${client}:${name.replace(/Command$/, '').replace(/Batch$/, '')}`);
  }
  return [...actions].sort();
}

/** Every action in the ```json block of `doc` that contains `"Sid": "<sid>"`. */
function policyWith(doc: string, sid: string): Set<string> {
  const text = read(doc);
  const at = text.indexOf(`"Sid": "${sid}"`);
  if (at === -1) throw new Error(`${doc} has no statement ${sid}`);
  const block = text.slice(text.lastIndexOf('```json', at), text.indexOf('```', at));
  return new Set([...block.matchAll(/"((?:sqs|sns|s3):\w+)"/g)].map((match) => match[1] ?? ''));
}

describe('the IAM policies in the docs', () => {
  it('grant `sync` on a replica queue what its heartbeat sends', () => {
    const needed = actionsOf('src/cli/replica-heartbeat.ts');
    expect(needed).toEqual(['sqs:ListQueueTags', 'sqs:TagQueue']);
    for (const action of needed) expect(policyWith('docs/iam.md', 'ReplicaQueueHeartbeat')).toContain(action);
  });

  it('grant a replica that makes its own queue (init container, sidecar, preStop) every call it sends', () => {
    const policy = policyWith('docs/topology.md', 'OwnQueue');
    const needed = new Set([
      ...actionsOf('src/sqs/replica-queue.ts'),
      ...actionsOf('src/cli/replica-command.ts'),
      ...actionsOf('src/cli/replica-heartbeat.ts'),
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:ChangeMessageVisibility',
    ]);
    for (const action of needed) expect(policy, action).toContain(action);
  });

  it('grant the sweeper every call it sends', () => {
    const policy = policyWith('docs/topology.md', 'FindQueues');
    for (const action of actionsOf('src/sqs/replica-sweep.ts')) expect(policy, action).toContain(action);
  });
});

describe('docs/cli.md', () => {
  it('lists every reason an `update skipped` line can carry', () => {
    const types = read('src/sync/types.ts');
    const start = types.indexOf('export type SkipReason =');
    // The union ends at the first member followed by `;` (its comments may hold semicolons).
    const union = types.slice(start, types.indexOf("';", start) + 2);
    const reasons = [...union.matchAll(/\| '([a-z-]+)'/g)].map((match) => match[1]);
    const row = /^\| `update skipped` \|.*$/m.exec(read('docs/cli.md'))?.[0] ?? '';
    const documented = [...row.matchAll(/`([a-z-]+)`/g)].map((match) => match[1]).filter((word) => word !== 'reason');
    expect(documented.sort()).toEqual(reasons.sort());
  });
});
