/** How break-glass shows in Slack: the card (BREAK-GLASS, Acknowledge, then "Acknowledged by"), the receipt and the admins' DM. */
import { describe, expect, it } from 'vitest';
import { MINUTE } from '../../src/domain/duration.js';
import { BREAK_GLASS_FLAG, type AccessRequest } from '../../src/domain/request.js';
import { adminAlert, approvalCard, receivedMessage } from '../../src/chat/slack/blocks.js';
import { ACTION_ACKNOWLEDGE, ACTION_APPROVE, ACTION_REVOKE } from '../../src/chat/slack/ids.js';
import { ALICE, BOB, buttons, expectWithinSlackLimits, later, snapshot, visible } from './slack-fixtures.js';

const REASON = 'INC-4821 orders DB down, restarting replication';
const glass = (patch: Partial<AccessRequest> = {}) =>
  snapshot({ status: 'approved', decidedAt: later(0), reason: REASON, flags: [{ code: BREAK_GLASS_FLAG, reason: 'granted at once' }], ...patch });

describe('break-glass card', () => {
  it('says BREAK-GLASS with the requester and reason, and offers Acknowledge instead of Approve / Deny', () => {
    const card = approvalCard(glass());
    expect(card.text).toMatch(/^BREAK-GLASS: /);
    expect(visible(card)).toContain('*BREAK-GLASS*');
    expect(visible(card)).toContain(`<@${ALICE}>`);
    expect(visible(card)).toContain(REASON);
    expect(visible(card)).toContain('Flagged for review');
    expect(buttons(card).map((b) => b.action_id)).toEqual([ACTION_ACKNOWLEDGE]);
    expect(buttons(card).map((b) => b.action_id)).not.toContain(ACTION_APPROVE);
    expectWithinSlackLimits(card);
  });

  it('keeps Revoke next to Acknowledge while active, and says who acknowledged once someone did', () => {
    const active = approvalCard(glass({ status: 'active', grantedAt: later(MINUTE), expiresAt: later(60 * MINUTE) }));
    expect(buttons(active).map((b) => b.action_id)).toEqual([ACTION_ACKNOWLEDGE, ACTION_REVOKE]);
    const acked = approvalCard(glass({ status: 'active', grantedAt: later(MINUTE), expiresAt: later(60 * MINUTE), acknowledgedBy: BOB, acknowledgedAt: later(2 * MINUTE) }));
    expect(visible(acked)).toContain(`*Acknowledged by <@${BOB}>*`);
    expect(visible(acked)).not.toContain('Flagged for review');
    expect(buttons(acked).map((b) => b.action_id)).toEqual([ACTION_REVOKE]);
  });

  it('tells the requester and the admins', () => {
    expect(visible(receivedMessage(glass()))).toMatch(/Break-glass/);
    const dm = adminAlert({ kind: 'break-glass', request: glass().request });
    expect(visible(dm)).toContain('*BREAK-GLASS*');
    expect(visible(dm)).toContain(REASON);
    expectWithinSlackLimits(dm);
  });
});
