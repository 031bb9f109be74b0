/** How the policy engine shows in Slack: flags on the card and in /access status, auto-approved records and receipts. */
import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { approvalCard, receivedMessage, statusMessage } from '../../src/chat/slack/blocks.js';
import { ACTION_APPROVE, ACTION_DENY } from '../../src/chat/slack/ids.js';
import { SECTION_TEXT_MAX } from '../../src/chat/slack/limits.js';
import { BOB, approve, buttons, expectWithinSlackLimits, later, ofType, snapshot, visible } from './slack-fixtures.js';

const RULE = 'prod-db/read auto_approve (up to 1h; Mon–Fri 09:00–18:00 Europe/Paris; at most 3 per 24h)';
const FLAGS: AccessRequest['flags'] = [
  { code: 'outside-business-hours', reason: 'requested Sat 23:10 Europe/Paris, outside business hours (Mon–Fri 09:00–18:00 Europe/Paris)' },
  { code: 'first-request', reason: 'the first request for prod-db by this person in 90 days' },
  { code: 'high-risk-role', reason: 'prod-db / read is marked high-risk in the policy' },
];
const auto = { autoApprovedBy: RULE, decidedAt: later(0) };
const granted = { grantedAt: later(MINUTE), expiresAt: later(HOUR) };

describe('flags on the approval card', () => {
  it('lists each flag with its reason, and keeps Approve and Deny', () => {
    const card = approvalCard(snapshot({ flags: FLAGS, approvalsRequired: 2 }));
    const section = ofType(card, 'section').find((b) => b.block_id === 'req_flags');
    const lines = section?.text?.text.split('\n') ?? [];
    expect(lines).toEqual([
      '*Flagged for review*',
      `:warning: *Outside business hours*: ${FLAGS[0]?.reason}`,
      `:warning: *First request*: ${FLAGS[1]?.reason}`,
      `:warning: *High-risk role*: ${FLAGS[2]?.reason}`,
    ]);
    expect(visible(card)).toContain('*0 of 2 approvals*');
    expect(buttons(card).map((b) => b.action_id)).toEqual([ACTION_APPROVE, ACTION_DENY]);
    expectWithinSlackLimits(card);
  });

  it('stays on the card once decided, and is absent when nothing was flagged', () => {
    expect(visible(approvalCard(snapshot({ flags: FLAGS, status: 'active', ...granted }, [approve(BOB)])))).toContain('*First request*');
    expect(ofType(approvalCard(snapshot()), 'section').map((b) => b.block_id)).not.toContain('req_flags');
  });

  it('escapes a reason and an unknown code, and stays within Slack limits however many there are', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ code: i === 0 ? 'new-<kind>' : 'burst', reason: `<!channel> ${'x'.repeat(400)}` }));
    const card = approvalCard(snapshot({ flags: many }));
    const text = ofType(card, 'section').find((b) => b.block_id === 'req_flags')?.text?.text ?? '';
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('`new-&lt;kind&gt;`');
    expect(text.length).toBeLessThanOrEqual(SECTION_TEXT_MAX);
    expect(text).toMatch(/more_$/);
    expectWithinSlackLimits(card);
  });
});

describe('an auto-approved request', () => {
  it.each([
    ['approved, being granted', snapshot({ status: 'approved', ...auto })],
    ['active', snapshot({ status: 'active', ...auto, ...granted })],
    ['revoked', snapshot({ status: 'revoked', ...auto, ...granted, revokedAt: later(HOUR), revokeReason: 'expired' })],
  ])('has a record card without buttons when %s', (_label, s) => {
    const card = approvalCard(s);
    expect(buttons(card)).toEqual([]);
    expect(ofType(card, 'input')).toEqual([]);
    expect(visible(card)).toContain(`*Auto-approved* by rule \`${RULE}\``);
    expect(visible(card)).toContain('no approver was asked');
    expectWithinSlackLimits(card);
  });

  it('tells approvers how to end an active one early, since the card has no Revoke', () => {
    expect(visible(approvalCard(snapshot({ status: 'active', ...auto, ...granted })))).toContain('/access revoke req_8f3a2c &lt;reason&gt;');
  });

  it('gives the requester a receipt that says so, with no Cancel button', () => {
    const receipt = receivedMessage(snapshot({ status: 'approved', ...auto }));
    expect(receipt.text).toContain('auto-approved');
    expect(visible(receipt)).toContain(`*auto-approved* by rule \`${RULE}\``);
    expect(visible(receipt)).not.toMatch(/sent to approvers/);
    expect(buttons(receipt)).toEqual([]);
    expectWithinSlackLimits(receipt);
  });
});

describe('/access status', () => {
  it('shows the flags, the rule that approved, and the trail entry', () => {
    const flagged = statusMessage({ snapshot: snapshot({ flags: FLAGS }), trail: [] }, later(0));
    expect(visible(flagged)).toContain('*Flagged for review*');
    expect(visible(flagged)).toContain(FLAGS[1]?.reason);

    const story = {
      snapshot: snapshot({ status: 'active', ...auto, ...granted }),
      trail: [{ at: later(0), action: 'request.auto-approved', actor: 'U0ALICE01', details: { rule: RULE } }],
    };
    const text = visible(statusMessage(story, later(2 * MINUTE)));
    expect(text).toContain(`auto-approved by rule \`${RULE}\``);
    expect(text).toMatch(/requested by <@U0ALICE01>; auto-approved by rule/);
    expect(text).not.toContain('Flagged for review');
    expectWithinSlackLimits(statusMessage(story, later(2 * MINUTE)));
  });
});
