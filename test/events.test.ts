import { describe, expect, it, vi } from 'vitest';
import { TypedEvents, warnListenerError } from '../src/events.ts';

interface Map {
  readonly tick: [n: number];
}

class Emitter extends TypedEvents<Map> {
  fire(n: number): void {
    this.emit('tick', n);
  }
}

describe('TypedEvents', () => {
  describe('.emit', () => {
    it('calls every listener in order even when one throws, and reports the throw once', () => {
      const reports: [unknown, string][] = [];
      const emitter = new Emitter((error, event) => reports.push([error, event]));
      const seen: string[] = [];
      const bug = new Error('logging bug');
      emitter.on('tick', () => seen.push('first'));
      emitter.on('tick', () => {
        throw bug;
      });
      emitter.on('tick', (n) => seen.push(`third ${n}`));
      expect(() => emitter.fire(1)).not.toThrow();
      expect(seen).toEqual(['first', 'third 1']);
      expect(reports).toEqual([[bug, 'tick']]);
    });

    it("reports an async listener's rejection instead of leaving it unhandled", async () => {
      const unhandled = vi.fn();
      process.on('unhandledRejection', unhandled);
      try {
        let report: (value: [unknown, string]) => void = () => {};
        const reported = new Promise<[unknown, string]>((resolve) => {
          report = resolve;
        });
        const emitter = new Emitter((error, event) => report([error, event]));
        const failure = new Error('async bug');
        emitter.on('tick', async () => {
          throw failure;
        });
        emitter.fire(2);
        expect(await reported).toEqual([failure, 'tick']);
        await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled).not.toHaveBeenCalled();
      } finally {
        process.off('unhandledRejection', unhandled);
      }
    });

    it('survives a reporter that throws', () => {
      const emitter = new Emitter(() => {
        throw new Error('broken logger');
      });
      const after = vi.fn();
      emitter.on('tick', () => {
        throw new Error('bug');
      });
      emitter.on('tick', after);
      expect(() => emitter.fire(3)).not.toThrow();
      expect(after).toHaveBeenCalledWith(3);
    });

    it('calls a once listener once and lets listeners added during an emit wait for the next', () => {
      const emitter = new Emitter();
      const once = vi.fn();
      const late = vi.fn();
      emitter.once('tick', once);
      emitter.on('tick', () => {
        emitter.on('tick', late);
      });
      emitter.fire(1);
      emitter.fire(2);
      expect(once).toHaveBeenCalledTimes(1);
      expect(late).toHaveBeenCalledWith(2);
      expect(emitter.listenerCount('tick')).toBe(3);
    });
  });

  describe('warnListenerError', () => {
    it('emits a process warning naming the event, never an error', async () => {
      const warning = new Promise<Error>((resolve) => process.once('warning', resolve));
      warnListenerError(new Error('boom'), 'reload_failed');
      const emitted = await warning;
      expect(emitted.name).toBe('S3SyncListenerWarning');
      expect(emitted.message).toBe("A listener for 'reload_failed' threw: boom");
    });
  });
});
