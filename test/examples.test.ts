import { describe, expect, it } from 'vitest';
import { runReplica } from '../examples/replica.ts';
import { fixturePath } from './support/fixtures.ts';

describe('examples/replica.ts', () => {
  it('syncs, applies a good update, and refuses a bad one while serving the last good data', async () => {
    const lines: string[] = [];
    const report = await runReplica(fixturePath('registry-v0-sample.json'), (line) => lines.push(line));
    expect(report.versions).toStrictEqual([1, 2]);
    expect(report.serverCounts[1]).toBe((report.serverCounts[0] ?? 0) + 1);
    expect(report.refused).toStrictEqual(['ERR_PARSE']);
    expect(lines.at(-1)).toBe(`get() still answers: ${report.serverCounts[1]} servers`);
  });
});
