/**
 * Fakes `Clock`: time stands still until a test moves it (`set`, `advance`), so windows, expiries and
 * grace periods are exact. Every `now()` is a fresh `Date`, so a caller mutating one cannot move time.
 * Left out on purpose: skew between processes (the use cases take one `now` per step; skew is the queue's
 * business) and timers (nothing here schedules anything).
 */
import type { Clock } from '../../src/use-cases/ports.js';

export const T0 = new Date('2025-08-06T12:00:00.000Z');

export class FakeClock implements Clock {
  #now: number;

  constructor(start: Date = T0) {
    this.#now = start.getTime();
  }

  now(): Date {
    return new Date(this.#now);
  }

  set(at: Date): void {
    this.#now = at.getTime();
  }

  advance(ms: number): Date {
    this.#now += ms;
    return this.now();
  }
}
