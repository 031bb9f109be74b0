/**
 * Runs the revoke watchdog (`use-cases/watch-revokes.ts`) on a timer in every process, web and worker alike:
 * it must speak exactly when no worker does. Runs never overlap; a run that fails is logged and the next one
 * tries again.
 */
import type { Logger } from '../use-cases/ports.js';
import { watchRevokes, type RevokeWatch, type WatchSettings } from '../use-cases/watch-revokes.js';
import type { UseCaseDeps } from '../use-cases/deps.js';
import { describeError } from '../use-cases/effects.js';

export interface RevokeWatchdog {
  stop(): void;
}

/** How often the watchdog looks, in production. */
export const WATCH_INTERVAL_MS = 60_000;
/**
 * How late a grant may be before it counts as stalled: two reconcile intervals (a lost job is re-enqueued by
 * the next reconcile) and never under two minutes (a crashed job is taken over within 15 s; a Redis restart
 * takes a few seconds).
 */
export function watchGraceMs(reconcileIntervalMs: number): number {
  return Math.max(2 * 60_000, 2 * reconcileIntervalMs);
}

export function startRevokeWatchdog(
  deps: Pick<UseCaseDeps, 'policy' | 'notifier' | 'clock'> & { log: Logger; watch: RevokeWatch },
  settings: WatchSettings & { intervalMs: number },
): RevokeWatchdog {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    watchRevokes(deps, settings)
      .catch((error: unknown) => deps.log.warn({ err: describeError(error) }, 'revoke watchdog run failed; trying again next run'))
      .finally(() => {
        running = false;
      });
  }, settings.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
