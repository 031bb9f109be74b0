/**
 * The requester's DMs that offer Revoke now and Extend, as rewritten in place once the grant is no longer
 * active (`endedRequesterNotice`): the text they had, no buttons and no hint about them, one line saying why.
 */
import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import type { AccessRequest, RequesterNotice } from '../../src/domain/request.js';
import { endedRequesterNotice, grantEndedLine, offersActions } from '../../src/chat/slack/requester-notices.js';
import { requesterNotice } from '../../src/chat/slack/blocks.js';
import type { RequesterDmRef } from '../../src/use-cases/ports.js';
import { ALICE, BOB, CAROL, approve, buttons, dateToken, expectWithinSlackLimits, later, ofType, snapshot, visible } from './slack-fixtures.js';

const active = { status: 'active' as const, decidedAt: later(MINUTE), grantedAt: later(2 * MINUTE), expiresAt: later(2 * HOUR), durationMs: 2 * HOUR - 2 * MINUTE };
const shownWhenSent = (notice: RequesterNotice, withLogin = false): Pick<RequesterDmRef, 'notice' | 'shownExpiresAt' | 'shownDurationMs' | 'withLogin'> => ({
  notice,
  shownExpiresAt: active.expiresAt,
  shownDurationMs: active.durationMs,
  withLogin,
});
const ended = (patch: Partial<AccessRequest>) => snapshot({ ...active, ...patch }, [approve(BOB)]);
const CREDENTIALS = { host: 'db.internal', port: 5432, database: 'app', username: 'jit_alice_1', password: 's3cr3t-pw' };

describe('a requester DM with actions, once the grant ended', () => {
  it.each<RequesterNotice>(['granted', 'expiring-soon', 'extended'])('%s: the same text, no buttons, the hint gone, why it ended', (notice) => {
    const before = requesterNotice(snapshot(active, [approve(BOB)]), notice);
    const after = endedRequesterNotice(ended({ status: 'revoked', revokeReason: 'expired', revokedAt: later(2 * HOUR + 5_000) }), shownWhenSent(notice), null);

    expect(buttons(before).length).toBeGreaterThan(0);
    expect(buttons(after)).toEqual([]);
    expect(ofType(after, 'actions')).toEqual([]);
    expect(after.text).toBe(before.text);
    expect(ofType(after, 'section')).toEqual(ofType(before, 'section'));
    expect(visible(after)).not.toMatch(/Revoke now\* gives|\*Extend\* asks/);
    const why = ofType(after, 'context').at(-1);
    expect(why && visible({ blocks: [why] })).toMatch(/Ended .*: the window closed\./);
    expectWithinSlackLimits(after);
  });

  it('keeps the window the DM showed, not the one an extension moved it to', () => {
    const extended = ended({ status: 'revoked', revokeReason: 'expired', expiresAt: later(3 * HOUR), durationMs: 3 * HOUR - 2 * MINUTE, revokedAt: later(3 * HOUR) });
    const after = endedRequesterNotice(extended, shownWhenSent('granted'), null);
    const [first] = ofType(after, 'section');
    expect(first?.text?.text).toContain(dateToken(later(2 * HOUR)));
    expect(first?.text?.text).toContain('(1h58m)');
    // Why it ended: the real end of the window.
    expect(visible(after)).toContain(`Ended ${dateToken(later(3 * HOUR))}`);
  });

  it('leaves out a login it carried, and says the login goes with the access', () => {
    const before = requesterNotice(snapshot(active, [approve(BOB)]), 'granted', CREDENTIALS);
    expect(visible(before)).toContain('s3cr3t-pw');
    const after = endedRequesterNotice(ended({ status: 'revoking', revokeReason: 'early', revokedBy: ALICE }), shownWhenSent('granted', true), later(HOUR));
    expect(JSON.stringify(after)).not.toContain('s3cr3t-pw');
    expect(visible(after)).toMatch(/login created for it is deleted with the access/);
  });

  it('says who ended it early, and when', () => {
    const mine = grantEndedLine(ended({ status: 'revoking', revokeReason: 'early', revokedBy: ALICE }).request, later(HOUR));
    expect(mine).toBe(`:lock: Ended ${dateToken(later(HOUR))}{date_short_pretty} {time}|${later(HOUR).toISOString()}>: you gave this access back.`);
    // Once revoked, the revoke's own time wins over the time of rendering.
    const theirs = grantEndedLine(ended({ status: 'revoked', revokeReason: 'early', revokedBy: CAROL, revokedAt: later(HOUR + 3_000) }).request, later(5 * HOUR));
    expect(theirs).toContain(dateToken(later(HOUR + 3_000)));
    expect(theirs).toContain(`revoked early by <@${CAROL}>`);
    expect(grantEndedLine(ended({ status: 'revoking', revokeReason: 'early', revokedBy: CAROL }).request, null)).toBe(
      `:lock: Ended: revoked early by <@${CAROL}>.`,
    );
  });

  it('only the granted, expiring-soon and extended DMs offer actions', () => {
    const all: RequesterNotice[] = ['denied', 'granted', 'revoked', 'grant-failed', 'expired', 'expiring-soon', 'extended'];
    for (const notice of all) {
      const offered = buttons(requesterNotice(snapshot(notice === 'denied' ? { status: 'denied' } : active), notice)).length > 0;
      expect(offersActions(notice), notice).toBe(offered);
    }
  });
});
