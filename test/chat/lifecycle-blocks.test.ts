import { describe, expect, it } from 'vitest';
import { DAY, HOUR, MINUTE, SECOND } from '../../src/domain/duration.js';
import type { AccessRequest, AuditEntry, RequestStatus } from '../../src/domain/request.js';
import type { RequestStory } from '../../src/use-cases/query-requests.js';
import {
  approvalCard,
  approverAlert,
  helpMessage,
  listMessage,
  receivedMessage,
  requesterNotice,
  statusMessage,
  type SlackMessage,
} from '../../src/chat/slack/blocks.js';
import {
  ACTION_APPROVE,
  ACTION_CANCEL,
  ACTION_DENY,
  ACTION_EXTEND,
  ACTION_REVOKE,
  DENY_REASON_ACTION,
  DENY_REASON_BLOCK,
  REVOKE_REASON_ACTION,
  REVOKE_REASON_BLOCK,
  decisionBlockId,
  requestIdOfDecisionBlock,
} from '../../src/chat/slack/ids.js';
import { linesWithin } from '../../src/chat/slack/format.js';
import { SECTION_TEXT_MAX } from '../../src/chat/slack/limits.js';
import { errorText } from '../../src/chat/slack/messages.js';
import { LIST_ACTIVE_SHOWN_MAX, timeLeft } from '../../src/chat/slack/query-replies.js';
import {
  ALICE,
  BOB,
  CAROL,
  T0,
  approve,
  buttons,
  dateToken,
  deny,
  expectWithinSlackLimits,
  later,
  ofType,
  request,
  snapshot,
  visible,
} from './slack-fixtures.js';

const ID = 'req_8f3a2c';
const EVIL = '<!channel> <@U0EVE0001> <https://evil.example|bank> & more';
const granted = { decidedAt: later(MINUTE), grantedAt: later(2 * MINUTE), expiresAt: later(2 * HOUR) };

const states = {
  cancelled: snapshot({ status: 'cancelled' }),
  expired: snapshot({ status: 'expired' }),
  active: snapshot({ status: 'active', ...granted }, [approve(BOB)]),
  revokingEarly: snapshot({ status: 'revoking', ...granted, revokeReason: 'early', revokedBy: CAROL, revokeNote: 'incident closed' }, [approve(BOB)]),
  revokedEarly: snapshot(
    { status: 'revoked', ...granted, revokedAt: later(HOUR), revokeReason: 'early', revokedBy: CAROL, revokeNote: 'incident closed' },
    [approve(BOB)],
  ),
  givenBack: snapshot({ status: 'revoked', ...granted, revokedAt: later(HOUR), revokeReason: 'early', revokedBy: ALICE, revokeNote: null }, [approve(BOB)]),
  windowEnded: snapshot({ status: 'revoked', ...granted, revokedAt: later(2 * HOUR), revokeReason: 'expired' }, [approve(BOB)]),
};

/** The only actions a message offers, as [action_id, value] pairs. */
const offered = (message: SlackMessage): [string | undefined, string | undefined][] => buttons(message).map((b) => [b.action_id, b.value]);

describe('interaction ids for the lifecycle', () => {
  it('are fixed strings, distinct from each other', () => {
    expect(ACTION_REVOKE).toBe('access_revoke');
    expect(ACTION_CANCEL).toBe('access_cancel');
    expect(REVOKE_REASON_BLOCK).not.toBe(DENY_REASON_BLOCK);
    const actions = [ACTION_APPROVE, ACTION_DENY, ACTION_REVOKE, ACTION_CANCEL, DENY_REASON_ACTION, REVOKE_REASON_ACTION];
    expect(new Set(actions).size).toBe(actions.length);
  });
});

describe('approval card through the lifecycle', () => {
  it('cancelled: says so, with no buttons and no input', () => {
    const card = approvalCard(states.cancelled);
    expect(visible(card)).toContain('Cancelled by the requester');
    expect(buttons(card)).toEqual([]);
    expect(ofType(card, 'input')).toEqual([]);
    expect(card.text).toContain('(cancelled)');
  });

  it('cancelled or expired part-way: names who had approved', () => {
    const card = approvalCard(snapshot({ status: 'cancelled', approvalsRequired: 2 }, [approve(BOB)]));
    expect(visible(card)).toContain(`Approved so far by <@${BOB}>`);
  });

  it('expired: nobody decided before the deadline, no buttons', () => {
    const card = approvalCard(states.expired);
    expect(visible(card)).toContain(`*Expired*: nobody decided before ${dateToken(later(DAY))}`);
    expect(buttons(card)).toEqual([]);
    expect(ofType(card, 'input')).toEqual([]);
    expect(card.text).toContain('(expired)');
  });

  it('active: an optional revoke reason and a Revoke button (danger, confirmed) carrying the request id', () => {
    const card = approvalCard(states.active);
    const [input, ...moreInputs] = ofType(card, 'input');
    expect(moreInputs).toEqual([]);
    expect(input).toMatchObject({
      block_id: REVOKE_REASON_BLOCK,
      optional: true,
      element: { type: 'plain_text_input', action_id: REVOKE_REASON_ACTION, max_length: 500 },
    });
    const [actions, ...moreActions] = ofType(card, 'actions');
    expect(moreActions).toEqual([]);
    expect(actions?.block_id).toBe(decisionBlockId(ID));
    expect(actions?.elements).toMatchObject([{ type: 'button', action_id: ACTION_REVOKE, style: 'danger', value: ID, text: { text: 'Revoke' } }]);
    const [revoke] = buttons(card);
    expect(revoke?.confirm?.confirm?.text).toBe('Revoke');
    // The input comes before the button, as Slack sends typed values with the click.
    expect(card.blocks.indexOf(input!)).toBeLessThan(card.blocks.indexOf(actions!));
  });

  it.each(['revokingEarly', 'revokedEarly', 'givenBack', 'windowEnded'] as const)('%s: no buttons', (state) => {
    expect(buttons(approvalCard(states[state]))).toEqual([]);
    expect(ofType(approvalCard(states[state]), 'input')).toEqual([]);
  });

  it('an early revoke says who revoked it and why; an expiry says the window ended', () => {
    const revoking = visible(approvalCard(states.revokingEarly));
    expect(revoking).toContain(`Revoked early by <@${CAROL}>`);
    expect(revoking).toContain('revoking…');
    expect(revoking).toContain('>incident closed');
    const revoked = visible(approvalCard(states.revokedEarly));
    expect(revoked).toContain(`Revoked early by <@${CAROL}>* ${dateToken(later(HOUR))}`);
    expect(revoked).toContain('>incident closed');
    expect(revoked).not.toContain('the window ended');
    expect(visible(approvalCard(states.givenBack))).toContain(`Revoked early by <@${ALICE}>* (the requester)`);
    const ended = visible(approvalCard(states.windowEnded));
    expect(ended).toContain('(the window ended)');
    expect(ended).not.toContain('early');
  });

  it('escapes and cuts the revoke note', () => {
    const evil = approvalCard(snapshot({ ...states.revokedEarly.request, revokeNote: EVIL }, [approve(BOB)]));
    const text = visible(evil);
    for (const raw of ['<!channel>', '<@U0EVE0001>', '<https://']) expect(text).not.toContain(raw);
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('&amp; more');
    const long = approvalCard(snapshot({ ...states.revokedEarly.request, revokeNote: 'n'.repeat(5000) }, [approve(BOB)]));
    expect(visible(long)).toContain('n…');
    expect(visible(long)).not.toContain('n'.repeat(700));
    expectWithinSlackLimits(long);
  });
});

describe('requester notices through the lifecycle', () => {
  it('granted: who approved, and Revoke now and Extend buttons with the request id', () => {
    const msg = requesterNotice(states.active, 'granted');
    expect(offered(msg)).toEqual([
      [ACTION_REVOKE, ID],
      [ACTION_EXTEND, ID],
    ]);
    expect(visible(msg)).toMatch(/Approved by/);
    expect(buttons(msg)[0]?.text.text).toBe('Revoke now');
    expect(ofType(msg, 'actions')[0]?.block_id).toBe(decisionBlockId(ID));
  });

  it('expiring-soon: when it ends, Revoke now, and how to ask for more time', () => {
    const msg = requesterNotice(snapshot({ ...states.active.request, warnedAt: later(HOUR + 45 * MINUTE) }), 'expiring-soon');
    expect(msg.text).toBe(`Your access to prod-db / read ends <!date^${Math.floor(later(2 * HOUR).getTime() / 1000)}^{date_short_pretty} {time}|${later(2 * HOUR).toISOString()}>.`);
    const text = visible(msg);
    expect(text).toContain(`ends ${dateToken(later(2 * HOUR))}`);
    expect(text).toContain('/access extend req_8f3a2c &lt;duration&gt; &lt;reason…&gt;');
    expect(offered(msg)).toEqual([
      [ACTION_REVOKE, ID],
      [ACTION_EXTEND, ID],
    ]);
    expect(buttons(msg)[0]?.text.text).toBe('Revoke now');
  });

  it('expired: nobody decided in time, nothing granted, how to ask again; no buttons', () => {
    const msg = requesterNotice(states.expired, 'expired');
    expect(msg.text).toContain('expired: nobody decided in time');
    const text = visible(msg);
    expect(text).toContain(`nobody decided before ${dateToken(later(DAY))}`);
    expect(text).toContain('Nothing was granted');
    expect(text).toContain('`/access request prod-db read');
    expect(text).toContain('<#C0APPROVE1>');
    expect(buttons(msg)).toEqual([]);
  });

  it('revoked: the window ended, the requester gave it back, or someone else revoked it early with a note', () => {
    expect(visible(requesterNotice(states.windowEnded, 'revoked'))).toContain('the 2h window closed');
    const back = requesterNotice(states.givenBack, 'revoked');
    expect(back.text).toBe('You gave back your access to prod-db / read.');
    expect(visible(back)).toContain('You gave back your access');
    const early = requesterNotice(states.revokedEarly, 'revoked');
    expect(early.text).toBe(`Your access to prod-db / read was revoked early by <@${CAROL}>.`);
    expect(visible(early)).toContain(`revoked early by <@${CAROL}>:\n>incident closed`);
    expect(visible(early)).not.toContain('window closed');
    for (const msg of [back, early]) expect(buttons(msg)).toEqual([]);
  });

  it('revoked early: the note is escaped', () => {
    const msg = requesterNotice(snapshot({ ...states.revokedEarly.request, revokeNote: EVIL }), 'revoked');
    expect(visible(msg)).not.toContain('<!channel>');
    expect(visible(msg)).toContain('&lt;!channel&gt;');
  });

  it('received: a Cancel request button with the request id', () => {
    const msg = receivedMessage(snapshot());
    expect(offered(msg)).toEqual([[ACTION_CANCEL, ID]]);
    expect(buttons(msg)[0]?.text.text).toBe('Cancel request');
    expect(requestIdOfDecisionBlock(ofType(msg, 'actions')[0]?.block_id ?? '')).toBe(ID);
  });

  it('denied and grant-failed offer no buttons', () => {
    expect(buttons(requesterNotice(snapshot({ status: 'denied' }, [deny(BOB, null)]), 'denied'))).toEqual([]);
    expect(buttons(requesterNotice(snapshot({ status: 'failed', lastError: 'x' }), 'grant-failed'))).toEqual([]);
  });
});

describe('approver reminder', () => {
  const reminder = approverAlert(snapshot({ approvalsRequired: 2, remindedAt: later(4 * HOUR) }, [approve(BOB)]), 'reminder');

  it('says whose request has waited since when', () => {
    expect(reminder.text).toBe(
      `Still waiting for a decision: <@${ALICE}>'s request for prod-db / read (${ID}), pending since ` +
        `<!date^${Math.floor(T0.getTime() / 1000)}^{date_short_pretty} {time}|${T0.toISOString()}>.`,
    );
    const text = visible(reminder);
    expect(text).toContain('INC-4821 hotfix');
    expect(text).toContain('1 of 2 approvals');
    expect(text).toContain(`Expires undecided ${dateToken(later(DAY))}`);
  });

  it('repeats the card’s Approve and Deny buttons and the optional deny reason', () => {
    const [actions] = ofType(reminder, 'actions');
    expect(actions?.block_id).toBe(decisionBlockId(ID));
    expect(actions?.elements).toMatchObject([
      { type: 'button', action_id: ACTION_APPROVE, style: 'primary', value: ID },
      { type: 'button', action_id: ACTION_DENY, style: 'danger', value: ID },
    ]);
    expect(ofType(reminder, 'input')).toMatchObject([{ block_id: DENY_REASON_BLOCK, optional: true, element: { action_id: DENY_REASON_ACTION } }]);
  });

  it('escapes the reason', () => {
    const text = visible(approverAlert(snapshot({ reason: EVIL }), 'reminder'));
    expect(text).not.toContain('<!channel>');
  });
});

describe('errorText for the lifecycle', () => {
  it('NOT_YOURS and REASON_REQUIRED say what to do', () => {
    expect(errorText({ code: 'NOT_YOURS', requestId: ID })).toBe(
      'That request is not yours; only its requester, or an approver or admin of the role, can do that.',
    );
    expect(errorText({ code: 'REASON_REQUIRED', requestId: ID })).toBe(
      "Say why: revoking someone else's access needs a reason (type it in the box above the button, or add it after the id).",
    );
  });

  it('a late click on a cancelled or expired request reads as words', () => {
    expect(errorText({ code: 'NOT_PENDING', requestId: ID, status: 'cancelled', decidedBy: [] })).toContain('it is cancelled by its requester.');
    expect(errorText({ code: 'NOT_PENDING', requestId: ID, status: 'expired', decidedBy: [] })).toContain('it is expired: nobody decided in time.');
  });
});

const NOW = later(HOUR);

function many(n: number, patch: (i: number) => Partial<AccessRequest>): AccessRequest[] {
  return Array.from({ length: n }, (_, i) => request({ id: `req_${String(i).padStart(4, '0')}`, ...patch(i) }));
}

describe('/access list', () => {
  it('says so when there is nothing', () => {
    const msg = listMessage({ active: [], pending: [] }, NOW);
    expect(msg.text).toBe('You have no active access and no pending requests.');
    expect(visible(msg)).toContain('You have no active access and no pending requests.');
    expect(buttons(msg)).toEqual([]);
    expectWithinSlackLimits(msg);
  });

  it('lists active grants with time left and a Revoke button each, and pending requests with what and since when', () => {
    const active = request({ id: 'req_active', status: 'active', ...granted });
    const pending = request({ id: 'req_pend', resource: 'billing', role: 'write', durationMs: 30 * MINUTE });
    const msg = listMessage({ active: [active], pending: [pending] }, NOW);
    expect(msg.text).toBe('You have 1 active grant and 1 pending request.');
    const text = visible(msg);
    expect(text).toContain('*Active* (1)');
    expect(text).toContain('`req_active` *prod-db* / *read* as `alice`');
    expect(text).toContain(`*1h left* (until ${dateToken(later(2 * HOUR))}`);
    expect(text).toContain('*Pending* (1)');
    expect(text).toContain(`\`req_pend\` *billing* / *write* for *30m*, waiting since ${dateToken(T0)}`);
    expect(offered(msg)).toEqual([[ACTION_REVOKE, 'req_active']]);
    const row = ofType(msg, 'section').find((s) => s.accessory);
    expect(row?.block_id).toBe(decisionBlockId('req_active'));
  });

  it('a grant being revoked has no Revoke button; an approved one is being granted', () => {
    const msg = listMessage(
      {
        active: [request({ id: 'req_going', status: 'revoking', ...granted, revokeReason: 'early', revokedBy: ALICE })],
        pending: [request({ id: 'req_ok', status: 'approved', decidedAt: later(MINUTE) })],
      },
      NOW,
    );
    expect(buttons(msg)).toEqual([]);
    expect(visible(msg)).toContain('Being revoked early…');
    expect(visible(msg)).toContain('`req_ok` *prod-db* / *read* for *2h*: approved, being granted');
  });

  it('60 of each stay within Slack limits and say how many more there are', () => {
    const long = { resource: 'r'.repeat(63), role: 'w'.repeat(63) };
    const active = many(60, (i) => ({ status: 'active', ...granted, ...long, expiresAt: later(HOUR + i * MINUTE) }));
    const pending = many(60, () => long);
    const msg = listMessage({ active, pending }, NOW);
    expectWithinSlackLimits(msg);
    expect(buttons(msg)).toHaveLength(LIST_ACTIVE_SHOWN_MAX);
    expect(buttons(msg).map((b) => b.value)).toEqual(active.slice(0, LIST_ACTIVE_SHOWN_MAX).map((r) => r.id));
    const text = visible(msg);
    expect(text).toContain(`…and ${60 - LIST_ACTIVE_SHOWN_MAX} more`);
    expect(text).toMatch(/Pending\* \(60\)[\s\S]*_…and \d+ more_/);
    expect(msg.text).toBe('You have 60 active grants and 60 pending requests.');
  });

  it('time left is rounded down to the minute', () => {
    expect(timeLeft(later(HOUR + 30 * MINUTE + 59 * SECOND), T0)).toBe('1h30m');
    expect(timeLeft(later(30 * SECOND), T0)).toBe('less than a minute');
    expect(timeLeft(T0, later(SECOND))).toBe('no time');
  });
});

const entry = (i: number, action: string, actor = 'system', details: Record<string, unknown> = {}): AuditEntry & { at: Date } => ({
  action,
  actor,
  details,
  at: later(i * MINUTE),
});

function story(patch: Partial<AccessRequest>, decisions = [approve(BOB)], trail: RequestStory['trail'] = []): RequestStory {
  return { snapshot: snapshot(patch, decisions), trail };
}

describe('/access status', () => {
  const trail = [
    entry(0, 'request.submitted', ALICE, { reason: EVIL }),
    entry(1, 'decision.refused', CAROL, { outcome: 'approve', code: 'NOT_AN_APPROVER' }),
    entry(1, 'request.approved', BOB, { approvals: 1, required: 1 }),
    entry(2, 'grant.activated'),
    entry(30, 'revoke.requested', CAROL, { note: 'incident closed' }),
    entry(30, 'revoke.started'),
    entry(31, 'revoke.completed'),
  ];

  it('tells the whole story of an early revoke: who, what, why, decisions, window, history', () => {
    const msg = statusMessage(story(states.revokedEarly.request, [approve(BOB)], trail), NOW);
    expect(msg.text).toBe(`Request ${ID}: prod-db / read for <@${ALICE}>; it is over: the access was granted and has been revoked.`);
    const text = visible(msg);
    expect(text).toContain(`<@${ALICE}> asked ${dateToken(T0)}`);
    expect(text).toContain('*prod-db* / *read*, *2h* as `alice`');
    expect(text).toContain('INC-4821 hotfix');
    expect(text).toContain(`<@${BOB}> approved ${dateToken(later(MINUTE))}`);
    expect(text).toContain(`Granted ${dateToken(later(2 * MINUTE))}`);
    expect(text).toContain(`Revoked ${dateToken(later(HOUR))}`);
    expect(text).toContain(`early by <@${CAROL}>.\n>incident closed`);
    const history = ofType(msg, 'section').find((s) => s.block_id === 'req_history')?.text?.text ?? '';
    expect(history.split('\n').slice(1)).toEqual([
      `${dateToken(T0)}{date_short_pretty} {time}|${T0.toISOString()}> requested by <@${ALICE}>`,
      expect.stringContaining(`decision refused by <@${CAROL}> (\`NOT_AN_APPROVER\`)`),
      expect.stringContaining(`approved by <@${BOB}> (1 of 1)`),
      expect.stringContaining('access granted'),
      expect.stringContaining(`early revoke asked by <@${CAROL}>`),
      expect.stringContaining('revoking'),
      expect.stringContaining('revoked'),
    ]);
    expect(buttons(msg)).toEqual([]);
    expectWithinSlackLimits(msg);
  });

  it('a denial shows the denier and the reason, escaped', () => {
    const text = visible(statusMessage(story({ status: 'denied', decidedAt: later(MINUTE) }, [deny(BOB, EVIL)]), NOW));
    expect(text).toContain(`<@${BOB}> denied ${dateToken(later(MINUTE))}`);
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('Nothing was granted: the request was denied.');
  });

  it('a pending request shows progress, when it expires and when approvers are reminded', () => {
    const text = visible(statusMessage(story({ approvalsRequired: 2 }), NOW));
    expect(text).toContain('It is *still pending*');
    expect(text).toContain('1 of 2 approvals');
    expect(text).toContain(`Expires undecided ${dateToken(later(DAY))}`);
    expect(text).toContain(`Approvers are reminded ${dateToken(later(4 * HOUR))}`);
  });

  it('an approved request in its grace says when the grant starts and that a deny still wins; once claimed, just granting', () => {
    const inGrace = { status: 'approved' as const, decidedAt: later(MINUTE), grantAfter: later(MINUTE + 5_000), grantStartedAt: null };
    expect(visible(statusMessage(story(inGrace, [approve(BOB)]), NOW))).toContain(
      `Approved; granting ${dateToken(later(MINUTE + 5_000))}`,
    );
    expect(visible(statusMessage(story(inGrace, [approve(BOB)]), NOW))).toContain('unless an approver denies first');
    const claimed = visible(statusMessage(story({ ...inGrace, grantStartedAt: later(MINUTE + 5_000) }, [approve(BOB)]), NOW));
    expect(claimed).toContain('Approved; granting…');
    expect(claimed).not.toContain('unless an approver denies first');
  });

  it('an active grant shows when it ends and the time left', () => {
    const text = visible(statusMessage(story(states.active.request), NOW));
    expect(text).toContain(`Ends ${dateToken(later(2 * HOUR))}`);
    expect(text).toContain('(1h left)');
  });

  it('a failing revoke shows the attempts and the redacted error', () => {
    const text = visible(
      statusMessage(story({ status: 'revoking', ...granted, revokeReason: 'expired', revokeAttempts: 4, lastError: 'password=hunter2 refused' }), later(3 * HOUR)),
    );
    expect(text).toContain('Window ended');
    expect(text).toContain('4 failed attempts');
    expect(text).not.toContain('hunter2');
  });

  it('with no trail says so', () => {
    const msg = statusMessage(story({}, [], []), NOW);
    expect(visible(msg)).toContain('*History*\n_no entries_');
    expect(visible(msg)).toContain('*Decisions*\nWaiting for an approver');
    expectWithinSlackLimits(msg);
  });

  it('a long trail keeps the newest 19 entries, newest last, and says how many earlier ones are hidden', () => {
    const long = Array.from({ length: 60 }, (_, i) => entry(i, 'decision.refused', CAROL, { code: `CODE_${i}` }));
    const msg = statusMessage(story(states.active.request, [approve(BOB)], long), NOW);
    const history = ofType(msg, 'section').find((s) => s.block_id === 'req_history')?.text?.text ?? '';
    const lines = history.split('\n').slice(1);
    expect(lines).toHaveLength(20);
    expect(lines[0]).toBe('_…41 earlier entries not shown_');
    expect(lines[1]).toContain('CODE_41');
    expect(lines[19]).toContain('CODE_59');
    expectWithinSlackLimits(msg);
  });

  it('unknown actions and odd details are escaped', () => {
    const msg = statusMessage(story({}, [], [entry(0, '<!here>', '<@U0EVE0001>', { code: '<!channel>' })]), NOW);
    const text = visible(msg);
    for (const raw of ['<!here>', '<@U0EVE0001>', '<!channel>']) expect(text).not.toContain(raw);
  });

  const statuses: RequestStatus[] = ['pending', 'approved', 'active', 'revoking', 'revoked', 'denied', 'failed', 'cancelled', 'expired'];
  it.each(statuses)('%s: huge reason, many decisions and a long trail stay within Slack limits', (status) => {
    const decisions = Array.from({ length: 60 }, (_, i) => ({ ...deny(`U0APPR${String(i).padStart(4, '0')}`, 'x'.repeat(500)), outcome: i % 2 ? ('deny' as const) : ('approve' as const) }));
    const trail = Array.from({ length: 60 }, (_, i) => entry(i, `custom.${'a'.repeat(200)}`, `U0ACTOR${i}`, { code: 'y'.repeat(500) }));
    const msg = statusMessage(
      story({ status, ...granted, reason: 'why '.repeat(2500), revokeReason: 'early', revokedBy: CAROL, revokeNote: 'n'.repeat(5000), revokeAttempts: 9, lastError: 'e'.repeat(5000) }, decisions, trail),
      NOW,
    );
    expectWithinSlackLimits(msg);
    expect(visible(msg)).toContain('…');
  });
});

describe('help documents every command', () => {
  it('request, list, status, cancel, revoke, help', () => {
    const msg = helpMessage();
    const text = visible(msg);
    for (const usage of [
      '/access request &lt;resource&gt; &lt;role&gt; &lt;duration&gt; &lt;reason…&gt;',
      '`/access list`',
      '`/access status &lt;id&gt;`',
      '`/access cancel &lt;id&gt;`',
      '`/access revoke &lt;id&gt; [reason…]`',
      '`/access help`',
    ]) {
      expect(text).toContain(usage);
    }
    expect(text).toContain('reason is required when revoking someone else’s access');
    for (const verb of ['list', 'status', 'cancel', 'revoke', 'help']) expect(msg.text).toContain(`/access ${verb}`);
  });
});

describe('linesWithin', () => {
  it('keeps whole lines and says how many more', () => {
    expect(linesWithin(['aaaa', 'bbbb', 'cccc'], 100)).toBe('aaaa\nbbbb\ncccc');
    expect(linesWithin(['aaaa', 'bbbb', 'cccc'], 100, { maxLines: 1 })).toBe('aaaa\n_…and 2 more_');
    expect(linesWithin(Array.from({ length: 100 }, () => 'x'.repeat(100)), SECTION_TEXT_MAX).length).toBeLessThanOrEqual(SECTION_TEXT_MAX);
    expect(linesWithin(['aaaa', 'bbbb', 'cccc'], 100, { maxLines: 2, keep: 'last', more: (n) => `${n} hidden` })).toBe('1 hidden\nbbbb\ncccc');
  });
});

describe('every lifecycle message', () => {
  const all: [string, SlackMessage][] = [
    ...Object.entries(states).map(([k, s]): [string, SlackMessage] => [`${k} card`, approvalCard(s)]),
    ['expired notice', requesterNotice(states.expired, 'expired')],
    ['expiring-soon notice', requesterNotice(states.active, 'expiring-soon')],
    ['granted notice', requesterNotice(states.active, 'granted')],
    ['revoked early notice', requesterNotice(states.revokedEarly, 'revoked')],
    ['given back notice', requesterNotice(states.givenBack, 'revoked')],
    ['reminder', approverAlert(snapshot(), 'reminder')],
    ['huge reminder', approverAlert(snapshot({ reason: 'x'.repeat(10_000), resource: 'r'.repeat(200) }), 'reminder')],
    ['received', receivedMessage(snapshot())],
    ['help', helpMessage()],
  ];
  it.each(all)('%s has fallback text and stays within Slack limits', (_, message) => expectWithinSlackLimits(message));
});
