/**
 * The revoke watchdog: a dead man's switch on "no grant outlives its window". Every process runs it (web and
 * worker), from PostgreSQL alone, so it still speaks when nothing else can: every worker dead, Redis gone for
 * long, a queue stuck. It looks for grants whose revoke is not progressing:
 * - `active` although the window ended more than `graceMs` ago (the revoke never started), or
 * - `revoking` with no transition (no attempt, failed or not) for longer than the revoke backoff's cap plus
 *   `graceMs` (a failing revoke that is still retried changes its row at every attempt, and is already
 *   reported by the worker as "revocation failing").
 * Each such grant is claimed once per state (`stalled_alerted_at`, cleared by the next transition; audited
 * `revoke.stalled`) and reported in one DM per run to the policy admins, or, when the policy names none, to
 * each grant's approvers' channel. It goes out
 * directly through `ChatNotifier`, not through the outbox, because the outbox is delivered by workers, the
 * very thing that may be missing. A send that fails transiently releases the claim, so the next run tries
 * again; one a recipient refuses for good keeps it (the others got it, and would get it again every run); the
 * error log line is written either way.
 *
 * It revokes nothing itself: revoking is the worker's job, under its target lock and retries. The alert is
 * for people, who can start a worker or revoke by hand.
 */
import type { AccessRequest } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import { describeError } from './effects.js';
import { PermanentChatError } from './ports.js';

export interface StallCutoffs {
  /** An `active` grant whose window ended before this is stalled. */
  activeEndedBefore: Date;
  /** A `revoking` grant whose row has not changed since before this is stalled. */
  revokingUnchangedSince: Date;
}

/** Where the watchdog finds stalled revokes and claims them for one alert each (`store/revoke-watch.ts`). */
export interface RevokeWatch {
  /** Stalled grants not alerted yet, claimed (`stalled_alerted_at`) and audited in one transaction; at most `limit`. */
  claimStalled(cutoffs: StallCutoffs, limit: number): Promise<AccessRequest[]>;
  /** Undoes a claim whose alert could not be sent, so the next run sends it. */
  releaseStalled(ids: string[]): Promise<void>;
}

export interface WatchSettings {
  /** How late past its end an active grant may be before it counts as stalled. */
  graceMs: number;
  /** The revoke retry backoff's cap: a failing revoke may sit this long between attempts. */
  revokeBackoffCapMs: number;
}

/** At most this many grants per alert; more are claimed on the next runs. */
const BATCH = 50;

type Deps = Pick<UseCaseDeps, 'policy' | 'notifier' | 'clock' | 'log'> & { watch: RevokeWatch };

export function stallCutoffs(now: Date, settings: WatchSettings): StallCutoffs {
  return {
    activeEndedBefore: new Date(now.getTime() - settings.graceMs),
    revokingUnchangedSince: new Date(now.getTime() - settings.revokeBackoffCapMs - settings.graceMs),
  };
}

/** One run: returns how many stalled grants were reported. */
export async function watchRevokes(deps: Deps, settings: WatchSettings): Promise<number> {
  const now = deps.clock.now();
  const stalled = await deps.watch.claimStalled(stallCutoffs(now, settings), BATCH);
  if (stalled.length === 0) return 0;
  const ids = stalled.map((r) => r.id);
  deps.log.error({ requestIds: ids }, 'revokes are not progressing: grants past their end are still in place; is a worker running?');
  const { admins } = deps.policy.current();
  const recipients = admins.length > 0 ? admins : [...new Set(stalled.map((r) => r.channel))];
  try {
    await deps.notifier.alertAdmins(recipients, { kind: 'revokes-stalled', requests: stalled, at: now });
  } catch (error) {
    if (error instanceof PermanentChatError) {
      // A recipient Slack refuses for good (a deactivated admin, an archived channel): the others have their
      // message, and asking again would only repeat it to them every run. The refusal stays in the log.
      deps.log.error({ requestIds: ids, err: describeError(error), destination: error.destination }, 'a recipient of the stalled-revokes alert refused it for good');
      return stalled.length;
    }
    await deps.watch.releaseStalled(ids);
    deps.log.error({ requestIds: ids, err: describeError(error) }, 'could not report stalled revokes; trying again next run');
    return 0;
  }
  return stalled.length;
}
