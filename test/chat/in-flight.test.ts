/**
 * The in-flight counter that `stop()` waits on (src/chat/slack/in-flight.ts), as Bolt drives a global middleware:
 * called with a `next` that resolves when the request's listeners are done.
 */
import { describe, expect, it } from 'vitest';
import { InFlightSlackWork } from '../../src/chat/slack/in-flight.js';

/** Runs a request through the middleware; its listeners finish when `finish` (or `fail`) is called. */
function request(work: InFlightSlackWork) {
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const listeners = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const done = work.middleware({ next: () => listeners } as unknown as Parameters<InFlightSlackWork['middleware']>[0]);
  return { finish, fail, done };
}

describe('InFlightSlackWork', () => {
  it('is drained at once when nothing runs', async () => {
    const work = new InFlightSlackWork();
    expect(work.running).toBe(0);
    expect(await work.drained(10)).toBe(true);
  });

  it('waits until every running request has finished, including one that fails', async () => {
    const work = new InFlightSlackWork();
    const a = request(work);
    const b = request(work);
    expect(work.running).toBe(2);
    let drained: boolean | null = null;
    const waiting = work.drained(5_000).then((d) => (drained = d));
    a.finish();
    await a.done;
    await Promise.resolve();
    expect(drained).toBeNull();
    b.fail(new Error('listener failed'));
    await expect(b.done).rejects.toThrow('listener failed'); // passed on to Bolt's error handling
    await waiting;
    expect(drained).toBe(true);
    expect(work.running).toBe(0);
  });

  it('gives up after the bound, saying so, with the request still counted', async () => {
    const work = new InFlightSlackWork();
    const a = request(work);
    const started = Date.now();
    expect(await work.drained(50)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(work.running).toBe(1);
    a.finish();
    await a.done;
    expect(work.running).toBe(0);
  });
});
