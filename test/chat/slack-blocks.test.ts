import { describe, expect, it } from 'vitest';
import type { types } from '@slack/bolt';
import { REQUEST_USAGE } from '../../src/domain/command.js';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import type { DomainError, DomainErrorCode } from '../../src/domain/errors.js';
import { REVOKE_ALERT_THRESHOLD } from '../../src/domain/request.js';
import type { RequestSnapshot } from '../../src/use-cases/ports.js';
import {
  approvalCard,
  approverAlert,
  helpMessage,
  receivedMessage,
  requestModal,
  requesterNotice,
  usageMessage,
  type SlackMessage,
} from '../../src/chat/slack/blocks.js';
import {
  ACTION_APPROVE,
  ACTION_DENY,
  DENY_REASON_ACTION,
  DENY_REASON_BLOCK,
  REQUEST_MODAL,
  REQUEST_MODAL_CALLBACK,
  decisionBlockId,
  parseRoleOptionValue,
  requestIdOfDecisionBlock,
} from '../../src/chat/slack/ids.js';
import { cut, escapeAndCut } from '../../src/chat/slack/limits.js';
import { errorText } from '../../src/chat/slack/messages.js';
import {
  ALICE,
  BOB,
  CAROL,
  approve,
  deny,
  expectWithinSlackLimits,
  later,
  ofType,
  snapshot,
  visible,
} from './slack-fixtures.js';

/** Snapshots of one request in every state after a decision, as the store would hold them. */
const decided = {
  denied: snapshot({ status: 'denied', decidedAt: later(MINUTE) }, [deny(BOB, 'not during the freeze')]),
  approved: snapshot({ status: 'approved', decidedAt: later(MINUTE), grantAfter: later(MINUTE), grantStartedAt: later(MINUTE) }, [approve(BOB)]),
  active: snapshot({ status: 'active', decidedAt: later(MINUTE), grantedAt: later(2 * MINUTE), expiresAt: later(2 * HOUR) }, [approve(BOB)]),
  revoked: snapshot(
    { status: 'revoked', decidedAt: later(MINUTE), grantedAt: later(2 * MINUTE), expiresAt: later(2 * HOUR), revokedAt: later(2 * HOUR), revokeReason: 'expired' },
    [approve(BOB)],
  ),
  failed: snapshot({ status: 'failed', decidedAt: later(MINUTE), revokedAt: later(2 * MINUTE), lastError: 'role "alice" does not exist' }, [approve(BOB)]),
};

function revoking(attempts: number, lastError: string | null = 'connection refused'): RequestSnapshot {
  return snapshot(
    { status: 'revoking', decidedAt: later(MINUTE), grantedAt: later(2 * MINUTE), expiresAt: later(2 * HOUR), revokeReason: 'expired', revokeAttempts: attempts, lastError },
    [approve(BOB)],
  );
}

describe('approval card while pending', () => {
  it('offers Approve and Deny with the request id as value', () => {
    const card = approvalCard(snapshot());
    const [actions, ...more] = ofType(card, 'actions');
    expect(more).toEqual([]);
    expect(actions?.block_id).toBe(decisionBlockId('req_8f3a2c'));
    expect(actions?.elements).toMatchObject([
      { type: 'button', action_id: ACTION_APPROVE, style: 'primary', value: 'req_8f3a2c', text: { text: 'Approve' } },
      { type: 'button', action_id: ACTION_DENY, style: 'danger', value: 'req_8f3a2c', text: { text: 'Deny' } },
    ]);
  });

  it('shows who asks for what, for how long and why', () => {
    const card = approvalCard(snapshot());
    const text = visible(card);
    expect(text).toContain(`<@${ALICE}>`);
    for (const part of ['prod-db', 'read', 'pg_read_all_data', '2h', 'alice', 'req_8f3a2c', 'INC-4821 hotfix']) expect(text).toContain(part);
    expect(card.text).toBe(`Access request from <@${ALICE}>: prod-db / read for 2h`);
  });

  it('has an optional deny-reason input whose ids the listener reads from state.values', () => {
    const [input, ...more] = ofType(approvalCard(snapshot()), 'input');
    expect(more).toEqual([]);
    expect(input).toMatchObject({ block_id: DENY_REASON_BLOCK, optional: true, element: { type: 'plain_text_input', action_id: DENY_REASON_ACTION } });
  });

  it('counts approvals toward the required number and names who approved', () => {
    const card = approvalCard(snapshot({ approvalsRequired: 2, version: 2 }, [approve(BOB)]));
    expect(visible(card)).toContain('1 of 2 approvals');
    expect(visible(card)).toContain(`<@${BOB}>`);
    expect(ofType(card, 'actions')).toHaveLength(1);
  });

  it('does not count approvals when one is enough', () => {
    expect(visible(approvalCard(snapshot()))).not.toMatch(/\d of \d/);
  });
});

describe('approval card once decided', () => {
  it.each(Object.entries(decided))('%s: names the decider and when; buttons only while active', (_, snap) => {
    const card = approvalCard(snap);
    if (snap.request.status !== 'active') {
      expect(ofType(card, 'actions')).toEqual([]);
      expect(ofType(card, 'input')).toEqual([]);
    }
    expect(visible(card)).toContain(`<@${BOB}>`);
    expect(visible(card)).toContain(`<!date^${Math.floor(later(MINUTE).getTime() / 1000)}^{date_short_pretty} {time}|${later(MINUTE).toISOString()}>`);
    expect(card.text).toContain(snap.request.status);
  });

  it('shows the outcome and the state of the grant', () => {
    const text = (s: RequestSnapshot): string => visible(approvalCard(s));
    expect(text(decided.denied)).toMatch(/Denied\* by <@U0BOB0002>/);
    expect(text(decided.denied)).toContain('not during the freeze');
    expect(text(decided.approved)).toContain('Granting…');
    expect(text(decided.active)).toContain(`until <!date^${Math.floor(later(2 * HOUR).getTime() / 1000)}^`);
    expect(text(decided.revoked)).toMatch(/Revoked\* <!date\^\d+\^.*\(the window ended\)/);
    expect(text(decided.failed)).toContain('Grant failed');
    expect(text(decided.failed)).toContain('role "alice" does not exist');
  });

  it('names every approver of a multi-approval request', () => {
    const card = approvalCard(snapshot({ status: 'approved', approvalsRequired: 2, decidedAt: later(MINUTE) }, [approve(BOB), approve(CAROL)]));
    expect(visible(card)).toContain(`Approved* by <@${BOB}>, <@${CAROL}>`);
  });
});

describe('approval card in the approval grace (deny beats approve until the grant starts)', () => {
  const graceEnds = later(MINUTE + 5_000);
  const inGrace = snapshot({ status: 'approved', decidedAt: later(MINUTE), grantAfter: graceEnds, grantStartedAt: null }, [approve(BOB)]);

  it('says when the grant starts and that a deny still wins until then, with only a Deny button and its reason box', () => {
    const card = approvalCard(inGrace);
    expect(visible(card)).toContain(`Granting <!date^${Math.floor(graceEnds.getTime() / 1000)}^`);
    expect(visible(card)).toContain('unless an approver denies first');
    const [actions, ...more] = ofType(card, 'actions');
    expect(more).toEqual([]);
    expect(actions?.elements).toMatchObject([{ type: 'button', action_id: ACTION_DENY, style: 'danger', value: 'req_8f3a2c' }]);
    expect(actions?.elements).toHaveLength(1);
    expect(ofType(card, 'input')).toMatchObject([{ block_id: DENY_REASON_BLOCK }]);
  });

  it('drops the Deny button once a worker has claimed the grant', () => {
    const card = approvalCard(snapshot({ ...inGrace.request, grantStartedAt: graceEnds }, inGrace.decisions));
    expect(ofType(card, 'actions')).toEqual([]);
    expect(visible(card)).toContain('Granting…');
  });

  it.each([
    ['auto-approved', { autoApprovedBy: 'prod-db/read auto_approve (up to 1h)' }],
    ['break-glass', { flags: [{ code: 'break-glass', reason: 'granted at once' }] }],
  ])('an %s card never offers a deny: nobody approved, so nothing races', (_label, patch) => {
    const card = approvalCard(snapshot({ ...inGrace.request, ...patch }, []));
    expect(ofType(card, 'actions').flatMap((a) => (a as types.ActionsBlock).elements.map((e) => (e as types.Button).action_id))).not.toContain(ACTION_DENY);
  });

  it('a deny that overrode an approval shows both: denied by one, approved before by the other', () => {
    const card = approvalCard(snapshot({ status: 'denied', decidedAt: later(MINUTE + 2_000) }, [approve(BOB), deny(CAROL, 'change freeze', later(MINUTE + 2_000))]));
    expect(visible(card)).toMatch(new RegExp(`Denied\\* by <@${CAROL}>`));
    expect(visible(card)).toContain(`Approved so far by <@${BOB}>`);
    expect(ofType(card, 'actions')).toEqual([]);
  });
});

describe('approval card while revoking', () => {
  it('says nothing alarming below the alert threshold', () => {
    const text = visible(approvalCard(revoking(REVOKE_ALERT_THRESHOLD - 1)));
    expect(text).toContain('revoking…');
    expect(text).not.toContain('failing');
  });

  it('shows that revocation is failing and retrying, with the attempt count', () => {
    const text = visible(approvalCard(revoking(REVOKE_ALERT_THRESHOLD)));
    expect(text).toContain('Revocation failing — retrying');
    expect(text).toContain(`${REVOKE_ALERT_THRESHOLD} failed attempts`);
    expect(text).toContain('connection refused');
  });

  it('cuts the last error to 200 characters and masks credentials in it', () => {
    const error = `could not connect to postgres://admin:hunter2@db.internal:5432/app password=hunter2 ${'x'.repeat(1000)}`;
    const text = visible(approvalCard(revoking(5, error)));
    expect(text).not.toContain('hunter2');
    const shown = /Last error: `([^`]*)`/.exec(text)?.[1] ?? '';
    expect(shown.length).toBeLessThanOrEqual(200);
    expect(shown.endsWith('…')).toBe(true);
    expect(shown).toContain('postgres://admin:***@db.internal');
  });
});

describe('user text on cards', () => {
  it('cuts a 10,000-character reason visibly and keeps every section within Slack limits', () => {
    const card = approvalCard(snapshot({ reason: 'why '.repeat(2500) }));
    expect(visible(card)).toContain('…');
    expectWithinSlackLimits(card);
  });

  it('escapes markup so a reason cannot ping a channel, mention someone or inject links', () => {
    const reason = '<script>alert(1)</script> <!channel> <@U0EVE0001> <https://evil.example|bank> & more';
    const card = approvalCard(snapshot({ reason }));
    const text = visible(card);
    for (const raw of ['<script>', '<!channel>', '<@U0EVE0001>', '<https://']) expect(text).not.toContain(raw);
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('&amp; more');
    const denied = approvalCard(snapshot({ status: 'denied', decidedAt: later(MINUTE) }, [deny(BOB, '<!here> no')]));
    expect(visible(denied)).not.toContain('<!here>');
    expect(visible(denied)).toContain('&lt;!here&gt; no');
  });

  it('keeps a multi-line reason inside the quote', () => {
    expect(visible(approvalCard(snapshot({ reason: 'line one\nline two' })))).toContain('>line one\n>line two');
  });

  it('does not cut in the middle of an entity', () => {
    expect(escapeAndCut('a'.repeat(8) + '&&&', 10)).toBe('aaaaaaaa…');
    expect(cut('abcdef', 4)).toBe('abc…');
    expect(cut('abc', 3)).toBe('abc');
  });
});

describe('requester notices', () => {
  it('denied: by whom and why', () => {
    const msg = requesterNotice(decided.denied, 'denied');
    expect(msg.text).toContain(`denied by <@${BOB}>`);
    expect(visible(msg)).toContain('not during the freeze');
  });

  it('granted: exactly what, as which account, until when', () => {
    const msg = requesterNotice(decided.active, 'granted');
    const text = visible(msg);
    for (const part of ['`read`', '`prod-db`', '`alice`', '`pg_read_all_data`']) expect(text).toContain(part);
    expect(text).toContain(`<!date^${Math.floor(later(2 * HOUR).getTime() / 1000)}^`);
  });

  it('revoked: the window ended', () => {
    expect(visible(requesterNotice(decided.revoked, 'revoked'))).toContain('the 2h window closed');
  });

  it('grant-failed: says it failed and why', () => {
    const text = visible(requesterNotice(decided.failed, 'grant-failed'));
    expect(text).toContain('could not be granted');
    expect(text).toContain('role "alice" does not exist');
  });
});

describe('approver alerts', () => {
  it('revoke-failing: attempts, and that it keeps retrying', () => {
    const text = visible(approverAlert(revoking(REVOKE_ALERT_THRESHOLD), 'revoke-failing'));
    expect(text).toContain(`${REVOKE_ALERT_THRESHOLD} attempts failed`);
    expect(text).toContain('keeps retrying');
    expect(text).toContain(`<@${ALICE}>`);
  });

  it('revoke-recovered: revoked after the failed attempts', () => {
    const snap = snapshot({ ...revoking(4).request, status: 'revoked', revokedAt: later(3 * HOUR), lastError: null }, [approve(BOB)]);
    expect(visible(approverAlert(snap, 'revoke-recovered'))).toContain('revoked <!date^');
    expect(visible(approverAlert(snap, 'revoke-recovered'))).toContain('after 4 failed attempts');
  });
});

describe('command replies', () => {
  it('help explains the request command, durations, the form and help', () => {
    const text = visible(helpMessage());
    expect(text).toContain('/access request &lt;resource&gt; &lt;role&gt; &lt;duration&gt; &lt;reason…&gt;');
    for (const d of ['30s', '15m', '2h', '1d', '1h30m']) expect(text).toContain(`\`${d}\``);
    expect(text).toContain('`/access request` on its own opens a form');
    expect(text).toContain('`/access help`');
  });

  it('usage escapes placeholders, which Slack would otherwise read as links', () => {
    const msg = usageMessage('"<!here>" is not a resource name', REQUEST_USAGE);
    const text = visible(msg);
    expect(text).not.toContain('<resource>');
    expect(text).not.toContain('<!here>');
    expect(text).toContain('&lt;resource&gt;');
    expect(msg.text).toContain('&lt;!here&gt;');
  });

  it('received: the request id, what was sent, and where', () => {
    const msg = receivedMessage(snapshot({ approvalsRequired: 2 }));
    expect(msg.text).toContain('Request req_8f3a2c sent to approvers');
    expect(visible(msg)).toContain('needs 2 approvals, in <#C0APPROVE1>');
  });
});

describe('every rendered message', () => {
  const all: [string, SlackMessage][] = [
    ['pending card', approvalCard(snapshot())],
    ...Object.entries(decided).map(([k, s]): [string, SlackMessage] => [`${k} card`, approvalCard(s)]),
    ['revoking card', approvalCard(revoking(7))],
    ['denied notice', requesterNotice(decided.denied, 'denied')],
    ['granted notice', requesterNotice(decided.active, 'granted')],
    ['revoked notice', requesterNotice(decided.revoked, 'revoked')],
    ['grant-failed notice', requesterNotice(decided.failed, 'grant-failed')],
    ['revoke-failing alert', approverAlert(revoking(3), 'revoke-failing')],
    ['revoke-recovered alert', approverAlert(decided.revoked, 'revoke-recovered')],
    ['help', helpMessage()],
    ['usage', usageMessage('the role is missing', REQUEST_USAGE)],
    ['received', receivedMessage(snapshot())],
    ['huge card', approvalCard(snapshot({ reason: 'x'.repeat(10_000), grants: Array.from({ length: 500 }, (_, i) => `grant_${i}`) }))],
  ];
  it.each(all)('%s has fallback text and stays within Slack limits', (_, message) => expectWithinSlackLimits(message));
});

describe('request form', () => {
  const options = [
    { resource: 'prod-db', role: 'read', maxDurationMs: 4 * HOUR },
    { resource: 'prod-db', role: 'write', maxDurationMs: HOUR },
  ];

  it('lists what may be requested with its maximum, and asks for a duration and a reason', () => {
    const view = requestModal(options);
    expect(view.callback_id).toBe(REQUEST_MODAL_CALLBACK);
    expect(view.submit?.text).toBe('Request');
    const [role, duration, reason] = view.blocks as types.KnownBlock[];
    expect(role).toMatchObject({ type: 'input', block_id: REQUEST_MODAL.roleBlock, element: { type: 'static_select', action_id: REQUEST_MODAL.roleAction } });
    const select = role?.type === 'input' && role.element.type === 'static_select' ? role.element : undefined;
    expect(select?.options?.map((o) => [o.text.text, o.value])).toEqual([
      ['prod-db / read (max 4h)', 'prod-db/read'],
      ['prod-db / write (max 1h)', 'prod-db/write'],
    ]);
    expect(parseRoleOptionValue(select?.options?.[0]?.value ?? '')).toEqual({ resource: 'prod-db', role: 'read' });
    expect(duration).toMatchObject({ block_id: REQUEST_MODAL.durationBlock, element: { type: 'plain_text_input', action_id: REQUEST_MODAL.durationAction } });
    expect(reason).toMatchObject({ block_id: REQUEST_MODAL.reasonBlock, element: { action_id: REQUEST_MODAL.reasonAction, multiline: true, max_length: 500 } });
  });

  it('keeps option texts within 75 characters', () => {
    const view = requestModal([{ resource: 'r'.repeat(63), role: 'w'.repeat(63), maxDurationMs: HOUR }]);
    const [role] = view.blocks as types.KnownBlock[];
    const text = role?.type === 'input' && role.element.type === 'static_select' ? role.element.options?.[0]?.text.text : undefined;
    expect(text?.length).toBeLessThanOrEqual(75);
    expect(text?.endsWith('…')).toBe(true);
  });

  it('says so, with no submit button, when nothing may be requested', () => {
    const view = requestModal([]);
    expect(view.submit).toBeUndefined();
    expect((view.blocks as types.KnownBlock[]).map((b) => b.type)).toEqual(['section']);
    expect(visible({ blocks: view.blocks as types.KnownBlock[] })).toContain('nothing you may request');
  });
});

describe('interaction ids', () => {
  it('match the card shape captured from Slack', () => {
    // From the block_actions fixture of a click on Approve (platform notes §2.2).
    expect(ACTION_APPROVE).toBe('access_approve');
    expect(ACTION_DENY).toBe('access_deny');
    expect(decisionBlockId('REQ-8f3a')).toBe('req_decision:REQ-8f3a');
    expect(requestIdOfDecisionBlock('req_decision:REQ-8f3a')).toBe('REQ-8f3a');
    expect(requestIdOfDecisionBlock('req_summary')).toBeNull();
  });
});

describe('errorText', () => {
  // One sample per code; the mapped type makes a new code a compile error here until it has a sample.
  const samples: { [C in DomainErrorCode]: Extract<DomainError, { code: C }> } = {
    UNKNOWN_RESOURCE: { code: 'UNKNOWN_RESOURCE', resource: 'prod-dbb', known: ['prod-db', 'staging-db'] },
    UNKNOWN_ROLE: { code: 'UNKNOWN_ROLE', resource: 'prod-db', role: 'admin', known: ['read', 'write'] },
    NOT_A_REQUESTER: { code: 'NOT_A_REQUESTER', resource: 'prod-db', role: 'write' },
    DURATION_TOO_LONG: { code: 'DURATION_TOO_LONG', maxMs: 4 * HOUR },
    NO_PRINCIPAL: { code: 'NO_PRINCIPAL', userId: ALICE },
    NOT_FOUND: { code: 'NOT_FOUND', requestId: 'req_missing' },
    NOT_PENDING: { code: 'NOT_PENDING', requestId: 'req_8f3a2c', status: 'denied', decidedBy: [CAROL] },
    SELF_APPROVAL: { code: 'SELF_APPROVAL', requestId: 'req_8f3a2c' },
    NOT_AN_APPROVER: { code: 'NOT_AN_APPROVER', requestId: 'req_8f3a2c' },
    BREAK_GLASS_NOT_ALLOWED: { code: 'BREAK_GLASS_NOT_ALLOWED', resource: 'prod-db', role: 'read' },
    ALREADY_ACKNOWLEDGED: { code: 'ALREADY_ACKNOWLEDGED', requestId: 'req_8f3a2c', by: CAROL },
    ALREADY_DECIDED: { code: 'ALREADY_DECIDED', requestId: 'req_8f3a2c', outcome: 'approve' },
    NOT_IN_STATE: { code: 'NOT_IN_STATE', requestId: 'req_8f3a2c', status: 'active', expected: ['revoking'] },
    NOT_DUE: { code: 'NOT_DUE', requestId: 'req_8f3a2c', expiresAt: later(2 * HOUR) },
    NOT_YOURS: { code: 'NOT_YOURS', requestId: 'req_8f3a2c' },
    REASON_REQUIRED: { code: 'REASON_REQUIRED', requestId: 'req_8f3a2c' },
    EXTENSION_PENDING: { code: 'EXTENSION_PENDING', requestId: 'req_8f3a2c' },
    EXTENSION_TOO_LONG: { code: 'EXTENSION_TOO_LONG', maxTotalMs: 4 * 3_600_000, remainingMs: 30 * 60_000 },
    REASON_TOO_SHORT: { code: 'REASON_TOO_SHORT', minLength: 20 },
    TICKET_REQUIRED: { code: 'TICKET_REQUIRED', pattern: '(INC|CHG)-\\d+' },
  };

  it.each(Object.values(samples))('$code reads as a sentence', (error) => {
    const text = errorText(error);
    expect(text).toMatch(/^[A-Z`].*\.$/s);
    expect(text).not.toMatch(/undefined|null|\[object/);
  });

  it('says exactly what went wrong', () => {
    expect(errorText(samples.NOT_AN_APPROVER)).toBe('You cannot decide this request: you are not one of its approvers.');
    expect(errorText(samples.SELF_APPROVAL)).toBe('You cannot decide this request: it is your own.');
    expect(errorText(samples.DURATION_TOO_LONG)).toContain('the maximum is 4h');
    expect(errorText(samples.UNKNOWN_RESOURCE)).toContain('`prod-db`, `staging-db`');
    expect(errorText(samples.UNKNOWN_ROLE)).toContain('`read`, `write`');
    expect(errorText(samples.NOT_PENDING)).toContain(`already decided by <@${CAROL}>`);
    expect(errorText(samples.ALREADY_DECIDED)).toContain('You already approved');
    expect(errorText({ ...samples.ALREADY_DECIDED, outcome: 'deny' })).toContain('You already denied');
    expect(errorText(samples.REASON_TOO_SHORT)).toContain('at least 20 characters');
    expect(errorText(samples.TICKET_REQUIRED)).toContain('`(INC|CHG)-\\d+`');
  });

  it('escapes what the user typed', () => {
    expect(errorText({ code: 'UNKNOWN_RESOURCE', resource: '<!channel>', known: [] })).toContain('&lt;!channel&gt;');
  });
});
