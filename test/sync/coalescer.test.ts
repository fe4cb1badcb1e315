import { describe, expect, it } from 'vitest';
import { Coalescer, type Outcome } from '../../src/sync/coalescer.ts';
import type { AnnouncedUpdate } from '../../src/sync/types.ts';

const update = (key: string, extra: Partial<AnnouncedUpdate> = {}): AnnouncedUpdate => ({
  bucket: 'b',
  key,
  origin: 'message',
  ...extra,
});

/** A coalescer whose runs wait until released, recording what ran and what was folded. */
function harness(fail = false) {
  const ran: string[] = [];
  const coalesced: string[] = [];
  const gates: (() => void)[] = [];
  const label = (u: AnnouncedUpdate) => `${u.key}${u.sequencer === undefined ? '' : `@${u.sequencer}`}:${u.origin}`;
  const coalescer = new Coalescer(
    async (u): Promise<Outcome> => {
      ran.push(label(u));
      await new Promise<void>((resolve) => gates.push(resolve));
      if (fail) throw new Error('503');
      return { status: 'applied' };
    },
    (u) => coalesced.push(label(u)),
  );
  const releaseAll = async () => {
    while (gates.length > 0 || ran.length === 0) {
      gates.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await coalescer.idle();
  };
  return { coalescer, ran, coalesced, releaseAll };
}

describe('Coalescer', () => {
  it('runs the first update at once and folds the rest into one run of the newest', async () => {
    const { coalescer, ran, coalesced, releaseAll } = harness();
    const results = ['01', '03', '02', '05', '04'].map((s) => coalescer.submit(update('k', { sequencer: s })));
    await releaseAll();
    expect(await Promise.all(results)).toEqual(Array(5).fill({ status: 'applied' }));
    expect(ran).toEqual(['k@01:message', 'k@05:message']);
    expect(coalesced.sort()).toEqual(['k@02:message', 'k@03:message', 'k@04:message']);
  });

  it('never lets a timer fetch displace a waiting message, for any key', async () => {
    const { coalescer, ran, releaseAll } = harness();
    void coalescer.submit(update('a'));
    void coalescer.submit(update('b'));
    void coalescer.submit(update('a', { origin: 'reconcile' }));
    await releaseAll();
    expect(ran).toEqual(['a:message', 'b:message']);
  });

  it('orders updates of different objects by event time, not by arrival', async () => {
    const { coalescer, ran, releaseAll } = harness();
    void coalescer.submit(update('first'));
    void coalescer.submit(update('10-05', { eventTime: new Date('2026-11-30T10:05:00Z') }));
    void coalescer.submit(update('10-00', { eventTime: new Date('2026-11-30T10:00:00Z') }));
    await releaseAll();
    expect(ran).toEqual(['first:message', '10-05:message']);
  });

  it('reports folded updates only once their covering run succeeded', async () => {
    const { coalescer, coalesced, releaseAll } = harness(true);
    // Settled before the runs are released: their rejections are handled as they happen.
    const settled = Promise.allSettled(['01', '02', '03'].map((s) => coalescer.submit(update('k', { sequencer: s }))));
    await releaseAll();
    for (const result of await settled) expect(result.status).toBe('rejected');
    expect(coalesced).toEqual([]);
  });
});
