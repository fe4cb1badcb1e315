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

  it('grant a replica that makes its own queue (the sidecar’s create and sync, a delete by hand) every call it sends', () => {
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

/** The Kubernetes example of docs/cli.md: its YAML block. */
function kubernetesExample(): string {
  const text = read('docs/cli.md');
  const section = text.indexOf('## Kubernetes: a sidecar beside the Go registry');
  const start = text.indexOf('```yaml\n', section);
  return text.slice(start, text.indexOf('\n```', start + 1));
}

/** The `s3:GetObject` Resource of the policy under topology.md › A replica that creates its own queue. */
function ownQueueS3Resources(): string[] {
  const text = read('docs/topology.md');
  const section = text.indexOf('### A replica that creates its own queue');
  const start = text.indexOf('```json\n', section) + '```json\n'.length;
  const policy = JSON.parse(text.slice(start, text.indexOf('\n```', start))) as {
    Statement: { Action: string | string[]; Resource: string | string[] }[];
  };
  return policy.Statement.filter((statement) => [statement.Action].flat().includes('s3:GetObject')).flatMap(
    (statement) => [statement.Resource].flat(),
  );
}

/** IAM's wildcard match: `*` any run of characters, `?` one. */
function iamMatches(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${source}$`).test(value);
}

describe('the Kubernetes example in docs/cli.md', () => {
  it('is granted s3:GetObject on the object its --source names, by the policy topology.md gives the pod', () => {
    const source = /--source=s3:\/\/([^/\s]+)\/(\S+)/.exec(kubernetesExample());
    expect(source).not.toBeNull();
    const object = `arn:aws:s3:::${source?.[1]}/${source?.[2]}`;
    const resources = ownQueueS3Resources();
    expect(resources.length).toBeGreaterThan(0);
    expect(
      resources.some((resource) => iamMatches(resource, object)),
      `${resources.join(', ')} vs ${object}`,
    ).toBe(true);
  });

  it('mounts a volume, declared in the pod, over the path its --schema reads', () => {
    const yaml = kubernetesExample();
    const schema = /--schema=(\S+)/.exec(yaml)?.[1] ?? '';
    expect(schema).not.toBe('');
    const mounts = [...yaml.matchAll(/\{ name: ([\w-]+), mountPath: ([^,\s}]+)/g)].map(([, name, path]) => ({
      name: name ?? '',
      path: path ?? '',
    }));
    const mount = mounts.find((m) => schema.startsWith(`${m.path}/`));
    expect(mount, schema).toBeDefined();
    const volume = new RegExp(`- name: ${mount?.name}\\s+#[^\\n]*\\n\\s+configMap: \\{ name: ([\\w-]+) \\}`);
    const configMap = volume.exec(yaml)?.[1];
    expect(configMap, `volume ${mount?.name} from a ConfigMap`).toBeDefined();
    // The ConfigMap itself is shown, with the file the flag names.
    expect(yaml).toMatch(
      new RegExp(`kind: ConfigMap\\nmetadata: \\{ name: ${configMap} \\}\\ndata:\\n  ${schema.split('/').pop()}: \\|`),
    );
  });

  it('makes the queue in the sidecar’s own command, keyed by the pod, and deletes it in no preStop hook', () => {
    const yaml = kubernetesExample();
    // A preStop also runs when kubelet restarts the container for a failed probe: it must not delete.
    expect(yaml).not.toMatch(/preStop:/);
    const command =
      /replica-queue create[\s\S]*?--replica-id "\$POD_UID"\s*> (\S+)\s*&& exec node \S+ sync\s+--queue-url-file=(\S+)/.exec(
        yaml,
      );
    expect(command, 'create, then exec sync on the file it wrote').not.toBeNull();
    expect(command?.[1]).toBe(command?.[2]);
    expect(yaml).toMatch(/fieldPath: metadata\.uid/);
  });
});
