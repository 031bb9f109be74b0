/** The admins' drift DM: pure, names what was removed and why, and escapes whatever the target named. */
import { describe, expect, it } from 'vitest';
import { adminAlert } from '../../src/chat/slack/blocks.js';
import type { AdminAlert, UndeliverableAlert } from '../../src/use-cases/ports.js';
import { HOUR } from '../../src/domain/duration.js';
import { ALICE, expectWithinSlackLimits, later, request } from './slack-fixtures.js';

const at = new Date('2025-08-06T12:00:00.000Z');
const drift = (over: Partial<AdminAlert> = {}): AdminAlert => ({
  kind: 'drift-revoked',
  resource: 'payments-k8s',
  principal: 'alice@example.com',
  grant: 'edit',
  requestId: 'req_abc2345678',
  requestStatus: 'revoked',
  at,
  ...over,
});

const body = (alert: AdminAlert): string => JSON.stringify(adminAlert(alert).blocks);

describe('adminAlert', () => {
  it('says what was found and removed, and which request it outlived', () => {
    const message = adminAlert(drift());
    expect(message.text).toBe('Drift found and removed: edit for alice@example.com on payments-k8s.');
    expect(body(drift())).toContain('*Drift found and removed*: `edit` for `alice@example.com` on `payments-k8s`');
    expect(body(drift())).toContain('request `req_abc2345678` is revoked');
    expect(body(drift())).toContain(`<!date^${at.getTime() / 1000}^`);
  });

  it('explains a membership no request covers, and an unknown request', () => {
    expect(body(drift({ requestId: null, requestStatus: null }))).toContain('no open request of that account covers it');
    expect(body(drift({ requestStatus: null }))).toContain('which accessbot has no record of');
  });

  it('escapes names from the target, in the fallback text too', () => {
    const hostile = drift({ principal: '<!channel> `x`', grant: 'a*b' });
    expect(adminAlert(hostile).text).not.toContain('<!channel>');
    expect(body(hostile)).not.toContain('<!channel>');
    expect(adminAlert(drift())).toEqual(adminAlert(drift()));
  });
});

describe('adminAlert: revokes not progressing', () => {
  const stalled = (id: string, status: 'active' | 'revoking', principal = 'alice') =>
    ({ ...request({ status, grantedAt: later(0), expiresAt: later(2 * HOUR) }), id, principal });

  it('names every stalled grant, who holds it and when it ended, and asks whether a worker runs', () => {
    const alert = { kind: 'revokes-stalled' as const, requests: [stalled('req_a1', 'active'), stalled('req_b2', 'revoking', 'bob')], at };
    const message = adminAlert(alert);
    expect(message.text).toBe('Revokes are not progressing: 2 grants past their end still in place.');
    const text = JSON.stringify(message.blocks);
    expect(text).toContain('*Revokes are not progressing*');
    expect(text).toContain('Is an accessbot worker running');
    expect(text).toContain(`\`req_a1\` *prod-db* / *read* as \`alice\` for <@${ALICE}>: ended <!date^${later(2 * HOUR).getTime() / 1000}^`);
    expect(text).toContain('`req_b2`');
    expect(text).toContain('revoke started, ended');
    expect(text).toContain('revoke.stalled');
  });

  it('stays within Slack’s limits with many grants, saying how many more there are', () => {
    const many = Array.from({ length: 50 }, (_, i) => stalled(`req_${String(i).padStart(8, '0')}`, 'active', 'a'.repeat(60)));
    const message = adminAlert({ kind: 'revokes-stalled', requests: many, at });
    expectWithinSlackLimits(message);
    expect(JSON.stringify(message.blocks)).toMatch(/…and \d+ more/);
    expect(message.text).toContain('50 grants');
  });
});

describe('adminAlert: a notification Slack refused for good', () => {
  const undeliverable = (over: Partial<UndeliverableAlert> = {}): UndeliverableAlert => ({
    kind: 'notification-undeliverable',
    request: request(),
    notification: 'post-cards',
    destination: 'C0GONE0001',
    code: 'channel_not_found',
    ...over,
  });
  const text = (alert: UndeliverableAlert): string => JSON.stringify(adminAlert(alert).blocks);

  it('a card refused by the approvers’ channel: which channel, which request, Slack’s code, who is left out and what to fix', () => {
    const message = adminAlert(undeliverable());
    expect(message.text).toBe('Slack refused a message about request req_8f3a2c for good (channel_not_found).');
    expect(text(undeliverable())).toContain(
      'The approvers’ channel <#C0GONE0001> refused the card of request `req_8f3a2c` (`channel_not_found`): approvers cannot see it; ' +
        'restore the channel (unarchive it, or invite accessbot back), then click *Send again*; if the channel is gone for good, fix the role’s `channel` in the policy for later requests.',
    );
    expect(text(undeliverable())).toContain('notification.abandoned');
    expectWithinSlackLimits(message);
  });

  it('names what else was refused: an update, an approvers’ alert, the requester’s DM, an approver’s DM card', () => {
    expect(text(undeliverable({ notification: 'refresh-cards', code: 'is_archived' }))).toContain('refused an update of the card of request `req_8f3a2c` (`is_archived`)');
    expect(text(undeliverable({ notification: 'alert-approvers' }))).toContain('refused an alert about request `req_8f3a2c`');
    expect(text(undeliverable({ notification: 'notify-requester', destination: ALICE, code: 'user_not_found' }))).toContain(
      `A direct message to <@${ALICE}> about request \`req_8f3a2c\` was refused (\`user_not_found\`)`,
    );
    expect(text(undeliverable({ destination: 'U0BOB0002', code: 'cannot_dm_bot' }))).toContain('could not be sent to <@U0BOB0002>');
  });

  it('offers Send again for a channel’s card only: the other kinds tell of a moment, and a DM copy is never re-sent', () => {
    const buttons = (alert: UndeliverableAlert) =>
      (adminAlert(alert).blocks ?? []).filter((b) => b.type === 'actions').map((b) => ({ block: b.block_id, elements: (b as { elements: unknown[] }).elements }));
    const sendAgain = [{ block: 'req_decision:req_8f3a2c', elements: [{ type: 'button', action_id: 'access_resend', text: { type: 'plain_text', text: 'Send again', emoji: true }, value: 'req_8f3a2c', style: 'primary' }] }];
    expect(buttons(undeliverable())).toEqual(sendAgain);
    expect(buttons(undeliverable({ notification: 'refresh-cards', code: 'is_archived' }))).toEqual(sendAgain);
    expect(text(undeliverable())).toContain('until an admin clicks Send again');
    for (const alert of [
      undeliverable({ notification: 'alert-approvers' }),
      undeliverable({ notification: 'notify-requester', destination: ALICE, code: 'user_not_found' }),
      undeliverable({ destination: 'U0BOB0002', code: 'cannot_dm_bot' }),
      undeliverable({ notification: 'refresh-cards', destination: 'D0BOB0002' }),
    ]) {
      expect(buttons(alert)).toEqual([]);
      expect(text(alert)).toContain('does not retry it;');
    }
  });

  it('never carries the request’s reason (the message text), and escapes what it shows', () => {
    const hostile = undeliverable({ request: request({ reason: 'SECRET-REASON', role: '<!channel>' }), code: '<!here>' });
    expect(JSON.stringify(adminAlert(hostile))).not.toContain('SECRET-REASON');
    expect(JSON.stringify(adminAlert(hostile))).not.toMatch(/<!channel>|<!here>/);
  });
});
