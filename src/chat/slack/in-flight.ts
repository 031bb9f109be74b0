/**
 * Slack work still running. A listener acks first (Slack wants an answer within 3 s) and then does the work:
 * a click's use case, its private reply, a Home refresh. Once acked, the HTTP request is over, so stopping the
 * receiver does not wait for that work; without this, `stop()` closed the database and Redis under it and the
 * clicker got no answer (or "something went wrong" for a decision that was never recorded).
 *
 * `middleware` is registered first among Bolt's global middleware: its `await next()` returns only when every
 * later middleware and every listener for the request has settled (Bolt's processEvent awaits them all), so
 * `running` counts requests from the first middleware to the end of their listeners. `drained` waits, bounded,
 * until none runs.
 */
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';

export class InFlightSlackWork {
  private count = 0;
  private readonly waiters = new Set<() => void>();

  readonly middleware: Middleware<AnyMiddlewareArgs> = async ({ next }) => {
    this.count += 1;
    try {
      await next();
    } finally {
      this.count -= 1;
      if (this.count === 0) for (const wake of [...this.waiters]) wake();
    }
  };

  /** Requests whose middleware or listeners are still running. */
  get running(): number {
    return this.count;
  }

  /** Resolves true once nothing is running (at once if nothing is), false if `timeoutMs` passed first. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (result: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(result);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(wake);
    });
  }
}
