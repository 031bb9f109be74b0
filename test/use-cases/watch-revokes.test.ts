/**
 * The revoke watchdog's use case: who is told, what, and what happens when telling fails. Which grants count
 * as stalled is the store's query, tested against PostgreSQL in test/store/revoke-watch.test.ts; here the
 * port hands back what the test says is stalled and records the claims.
 */
import { describe, expect, it } from 'vitest';
import { MINUTE } from '../../src/domain/duration.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { stallCutoffs, watchRevokes, type RevokeWatch, type StallCutoffs } from '../../src/use-cases/watch-revokes.js';
import { active, createWorld } from './world.js';

class ScriptedWatch implements RevokeWatch {
  readonly asked: StallCutoffs[] = [];
  readonly released: string[][] = [];
  constructor(private stalled: AccessRequest[]) {}
  async claimStalled(cutoffs: StallCutoffs): Promise<AccessRequest[]> {
    this.asked.push(cutoffs);
    const claimed = this.stalled;
    this.stalled = [];
    return claimed;
  }
  async releaseStalled(ids: string[]): Promise<void> {
    this.released.push(ids);
  }
}

const SETTINGS = { graceMs: 2 * MINUTE, revokeBackoffCapMs: 5 * MINUTE };

describe('watchRevokes', () => {
  it('asks for active grants ended past the grace, and revoking ones unchanged past the backoff cap plus the grace', () => {
    const now = new Date('2026-11-28T12:00:00Z');
    expect(stallCutoffs(now, SETTINGS)).toEqual({
      activeEndedBefore: new Date('2026-11-28T11:58:00Z'),
      revokingUnchangedSince: new Date('2026-11-28T11:53:00Z'),
    });
  });

  it('tells the policy admins once, in one alert naming every stalled grant, and logs it at error', async () => {
    const w = createWorld();
    const stalled = [w.store.request(await active(w)), w.store.request(await active(w))];
    const watch = new ScriptedWatch(stalled);
    const deps = { ...w.deps, policy: { current: () => ({ ...w.deps.policy.current(), admins: ['U0ADMIN03', 'U0ADMIN04'] }) }, watch };

    expect(await watchRevokes(deps, SETTINGS)).toBe(2);
    expect(watch.asked).toEqual([stallCutoffs(w.clock.now(), SETTINGS)]);
    expect(w.notifier.adminAlerts.map((a) => a.to)).toEqual(['U0ADMIN03', 'U0ADMIN04']);
    expect(w.notifier.adminAlerts[0]!.alert).toEqual({ kind: 'revokes-stalled', requests: stalled, at: w.clock.now() });
    expect(w.log.lines.filter((l) => l.level === 'error')).toMatchObject([{ obj: { requestIds: stalled.map((r) => r.id) } }]);

    // The next run finds nothing new to claim, and says nothing.
    expect(await watchRevokes(deps, SETTINGS)).toBe(0);
    expect(w.notifier.adminAlerts).toHaveLength(2);
  });

  it('with no admins in the policy, tells each stalled grant’s approvers’ channel instead', async () => {
    const w = createWorld();
    const stalled = [w.store.request(await active(w))];
    expect(w.deps.policy.current().admins).toEqual([]);
    await watchRevokes({ ...w.deps, watch: new ScriptedWatch(stalled) }, SETTINGS);
    expect(w.notifier.adminAlerts.map((a) => a.to)).toEqual([stalled[0]!.channel]);
  });

  it('when the alert cannot be sent, releases the claims so the next run sends it, and logs why', async () => {
    const w = createWorld();
    const stalled = [w.store.request(await active(w))];
    const watch = new ScriptedWatch(stalled);
    w.notifier.failNext('alertAdmins');

    expect(await watchRevokes({ ...w.deps, watch }, SETTINGS)).toBe(0);
    expect(watch.released).toEqual([[stalled[0]!.id]]);
    expect(w.log.lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([
      'revokes are not progressing: grants past their end are still in place; is a worker running?',
      'could not report stalled revokes; trying again next run',
    ]);
  });

  it('a recipient Slack refuses for good (a deactivated admin) keeps the claim: the others are not told again every run', async () => {
    const w = createWorld();
    w.policy.admins.push('U0LIVE001', 'U0GONE001');
    const stalled = [w.store.request(await active(w))];
    const watch = new ScriptedWatch(stalled);
    w.notifier.refuseNext('alertAdmins', 'user_not_found');

    expect(await watchRevokes({ ...w.deps, watch }, SETTINGS)).toBe(1);
    expect(watch.released).toEqual([]);
    expect(w.log.lines.filter((l) => l.level === 'error').map((l) => l.msg)).toContain('a recipient of the stalled-revokes alert refused it for good');
  });
});
