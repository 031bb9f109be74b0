/**
 * The rest of the lifecycle: a requester cancels, a pending request expires, approvers are reminded, the
 * requester is warned before the end, and access is given back early. Table-driven, pure.
 */
import { describe, expect, it } from 'vitest';
import { requestDraft } from '../support/request-draft.js';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import type { Result } from '../../src/domain/errors.js';
import { ROLE_TIMING_DEFAULTS, checkDecider, type Policy } from '../../src/domain/policy.js';
import {
  activate,
  applyExtension,
  escalate,
  cancel,
  checkExtension,
  expirePending,
  remind,
  requestRevoke,
  review,
  startGrant,
  submit,
  warnExpiry,
  warningTime,
  type AccessRequest,
  type NewRequest,
  type Transition,
} from '../../src/domain/request.js';

const ALICE = 'U0ALICE01';
const BOB = 'U0BOB0002';
const ADMIN = 'U0ADMIN03';
const MALLORY = 'U0MALL005';
const T0 = new Date('2026-01-05T09:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

const policy: Policy = {
  version: 1,
  admins: [ADMIN],
  principals: {},
  resources: {
    'prod-db': {
      provider: 'postgres',
      settings: {},
      principal: 'email-local-part',
      roles: { read: { grants: ['app_read'], maxDurationMs: 4 * HOUR, approvers: { users: [BOB] }, approvals: 1, channel: 'C0APPROVE1', ...ROLE_TIMING_DEFAULTS } },
    },
  },
};

function draft(patch: Partial<NewRequest> = {}): NewRequest {
  return requestDraft({
    id: 'req_life',
    grants: ['app_read'],
    reason: 'INC-1',
    createdAt: T0,
    pendingUntil: at(24 * HOUR),
    remindAt: at(HOUR),
    warnBeforeMs: 5 * MINUTE,
    ...patch,
  });
}

const must = (r: Result<Transition>): Transition => {
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
};
const pending = (patch: Partial<NewRequest> = {}) => submit(draft(patch)).next;
const active = (patch: Partial<NewRequest> = {}): AccessRequest => {
  const approved = must(review(pending(patch), [], policy, { deciderId: BOB, outcome: 'approve', reason: null }, at(MINUTE))).next;
  return must(activate(approved, at(2 * MINUTE))).next;
};
const codeOf = (r: Result<Transition>) => (r.ok ? 'ok' : r.error.code);

describe('submit schedules the time-driven checks', () => {
  it('schedules the pending expiry and the reminder', () => {
    expect(submit(draft()).effects).toEqual(
      expect.arrayContaining([
        { type: 'schedule-check', check: 'expire', at: at(24 * HOUR) },
        { type: 'schedule-check', check: 'remind', at: at(HOUR) },
      ]),
    );
  });

  it('schedules no reminder when the role has none', () => {
    expect(submit(draft({ remindAt: null })).effects.filter((e) => e.type === 'schedule-check')).toEqual([
      { type: 'schedule-check', check: 'expire', at: at(24 * HOUR) },
    ]);
  });
});

/** Approved by Bob at +1 minute; the grant waits out the approval grace. */
const approvedInGrace = () => must(review(pending(), [], policy, { deciderId: BOB, outcome: 'approve', reason: null }, at(MINUTE))).next;

describe('cancel', () => {
  it.each([
    ['the requester cancels a pending request', () => pending(), ALICE, 'ok'],
    ['someone else cannot', () => pending(), BOB, 'NOT_YOURS'],
    ['an active request cannot be cancelled (revoke it)', () => active(), ALICE, 'NOT_PENDING'],
    ['an approved one inside the approval grace can, like a deny', () => approvedInGrace(), ALICE, 'ok'],
    ['an approved one whose grant has started cannot', () => must(startGrant(approvedInGrace(), at(2 * MINUTE))).next, ALICE, 'NOT_PENDING'],
  ])('%s', (_label, make, actor, expected) => {
    expect(codeOf(cancel(make(), [], actor))).toBe(expected);
  });

  it('retires the card and writes the audit entry', () => {
    const t = must(cancel(pending(), [], ALICE));
    expect(t.next.status).toBe('cancelled');
    expect(t.effects).toEqual([{ type: 'refresh-cards' }]);
    expect(t.audit).toEqual({ action: 'request.cancelled', actor: ALICE, details: {} });
  });
});

describe('expirePending', () => {
  it.each([
    ['before its time-to-live', at(24 * HOUR - 1), 'NOT_DUE'],
    ['exactly at it', at(24 * HOUR), 'ok'],
    ['after it', at(30 * HOUR), 'ok'],
  ])('%s → %s', (_label, now, expected) => {
    expect(codeOf(expirePending(pending(), now))).toBe(expected);
  });

  it('tells the requester and retires the card; a decided request never expires', () => {
    const t = must(expirePending(pending(), at(25 * HOUR)));
    expect(t.next.status).toBe('expired');
    expect(t.effects).toEqual([{ type: 'refresh-cards' }, { type: 'notify-requester', notice: 'expired' }]);
    expect(codeOf(expirePending(active(), at(25 * HOUR)))).toBe('NOT_IN_STATE');
  });
});

describe('remind', () => {
  it('reminds the approvers once, when due', () => {
    expect(codeOf(remind(pending(), at(HOUR - 1)))).toBe('NOT_DUE');
    const t = must(remind(pending(), at(HOUR)));
    expect(t.effects).toEqual([{ type: 'alert-approvers', alert: 'reminder' }]);
    expect(t.next.remindedAt).toEqual(at(HOUR));
    expect(codeOf(remind(t.next, at(2 * HOUR)))).toBe('NOT_IN_STATE');
  });

  it('does not remind about a request that was decided or has no reminder', () => {
    expect(codeOf(remind(active(), at(HOUR)))).toBe('NOT_IN_STATE');
    expect(codeOf(remind(pending({ remindAt: null }), at(HOUR)))).toBe('NOT_IN_STATE');
  });
});

describe('warnExpiry', () => {
  it.each([
    ['a 2h window is warned 5 minutes before its end', 2 * HOUR, 5 * MINUTE, at(2 * MINUTE + 2 * HOUR - 5 * MINUTE)],
    ['a window shorter than twice the warning is not warned', 8 * MINUTE, 5 * MINUTE, null],
    ['a role without warnings is not warned', 2 * HOUR, 0, null],
  ])('%s', (_label, durationMs, warnBeforeMs, expected) => {
    const a = active({ durationMs, warnBeforeMs });
    expect(warningTime(a, a.expiresAt as Date)).toEqual(expected);
  });

  it('activate schedules the warning, which fires once, when due', () => {
    const approved = must(review(pending(), [], policy, { deciderId: BOB, outcome: 'approve', reason: null }, at(MINUTE))).next;
    const warnAt = at(2 * MINUTE + 2 * HOUR - 5 * MINUTE);
    expect(must(activate(approved, at(2 * MINUTE))).effects).toContainEqual({ type: 'schedule-check', check: 'warn', at: warnAt });
    const a = active();
    expect(codeOf(warnExpiry(a, new Date(warnAt.getTime() - 1)))).toBe('NOT_DUE');
    const t = must(warnExpiry(a, warnAt));
    expect(t.effects).toEqual([{ type: 'notify-requester', notice: 'expiring-soon' }]);
    expect(codeOf(warnExpiry(t.next, warnAt))).toBe('NOT_IN_STATE');
  });

  it('run late, once the window is over (workers down across both times), says nothing', () => {
    const a = active();
    expect(codeOf(warnExpiry(a, a.expiresAt as Date))).toBe('NOT_IN_STATE');
    expect(codeOf(warnExpiry(a, new Date((a.expiresAt as Date).getTime() + 10 * MINUTE)))).toBe('NOT_IN_STATE');
  });
});

describe('requestRevoke', () => {
  it.each([
    ['the requester gives access back, no reason needed', ALICE, null, 'ok'],
    ['an approver of the role, with a reason', BOB, 'incident over', 'ok'],
    ['an admin, with a reason', ADMIN, 'offboarding', 'ok'],
    ['an approver without a reason', BOB, null, 'REASON_REQUIRED'],
    ['anyone else', MALLORY, 'because', 'NOT_YOURS'],
  ])('%s → %s', (_label, actorId, note, expected) => {
    expect(codeOf(requestRevoke(active(), policy, { actorId, note }, at(HOUR)))).toBe(expected);
  });

  it('moves to revoking at once, records who and why, and brings the revoke forward', () => {
    const t = must(requestRevoke(active(), policy, { actorId: BOB, note: 'incident over' }, at(HOUR)));
    expect(t.next).toMatchObject({ status: 'revoking', revokeReason: 'early', revokedBy: BOB, revokeNote: 'incident over' });
    expect(t.effects).toEqual([{ type: 'schedule-revoke', at: at(HOUR) }, { type: 'refresh-cards' }]);
    expect(t.audit).toEqual({ action: 'revoke.requested', actor: BOB, details: { note: 'incident over' } });
  });

  it('refuses a request that is not active (already revoking, pending, revoked)', () => {
    const revoking = must(requestRevoke(active(), policy, { actorId: ALICE, note: null }, at(HOUR))).next;
    expect(codeOf(requestRevoke(revoking, policy, { actorId: ALICE, note: null }, at(HOUR)))).toBe('NOT_IN_STATE');
    expect(codeOf(requestRevoke(pending(), policy, { actorId: ALICE, note: null }, at(HOUR)))).toBe('NOT_IN_STATE');
  });
});

describe('extensions', () => {
  const extension = (original: AccessRequest, durationMs: number): AccessRequest => {
    const asked = submit(draft({ id: 'req_ext', extendsId: original.id, durationMs })).next;
    return must(review(asked, [], policy, { deciderId: BOB, outcome: 'approve', reason: null }, at(10 * MINUTE))).next;
  };

  it.each([
    ['within the maximum total', ALICE, HOUR, 4 * HOUR, false, null],
    ['exactly up to it', ALICE, 2 * HOUR, 4 * HOUR, false, null],
    ['past it', ALICE, 2 * HOUR + 1, 4 * HOUR, false, 'EXTENSION_TOO_LONG'],
    ['by someone else', BOB, HOUR, 4 * HOUR, false, 'NOT_YOURS'],
    ['while another extension waits', ALICE, HOUR, 4 * HOUR, true, 'EXTENSION_PENDING'],
  ])('asked %s → %s', (_label, requesterId, durationMs, maxTotalMs, pendingExtension, expected) => {
    expect(checkExtension(active(), { requesterId, durationMs, maxTotalMs, pendingExtension })?.code ?? null).toBe(expected);
  });

  it('is refused for a grant that is not active', () => {
    expect(checkExtension(pending(), { requesterId: ALICE, durationMs: HOUR, maxTotalMs: 4 * HOUR, pendingExtension: false })?.code).toBe('NOT_IN_STATE');
  });

  it('once approved, lengthens the window in one step and moves the revoke and the warning', () => {
    const original = active();
    const [ext, grant] = must2(applyExtension(extension(original, HOUR), original, 4 * HOUR, at(20 * MINUTE)));
    const newEnd = new Date((original.expiresAt as Date).getTime() + HOUR);
    expect(ext.next.status).toBe('applied');
    expect(grant.next).toMatchObject({ status: 'active', expiresAt: newEnd, durationMs: 3 * HOUR, warnedAt: null, version: original.version + 1 });
    expect(grant.effects).toEqual([
      { type: 'schedule-revoke', at: newEnd },
      { type: 'notify-requester', notice: 'extended' },
      { type: 'refresh-cards' },
      { type: 'schedule-check', check: 'warn', at: new Date(newEnd.getTime() - 5 * MINUTE) },
    ]);
  });

  it.each([
    ['the grant already ended', (o: AccessRequest) => ({ ...o, status: 'revoked' as const }), 4 * HOUR, /already ended/],
    ['two extensions together would pass the maximum', (o: AccessRequest) => ({ ...o, durationMs: 3 * HOUR + 30 * MINUTE }), 4 * HOUR, /maximum total/],
  ])('fails the extension, and lengthens nothing, when %s', (_label, change, maxTotalMs, why) => {
    const original = active();
    const [ext, grant] = must2(applyExtension(extension(original, HOUR), change(original), maxTotalMs, at(20 * MINUTE)));
    expect(ext.next.status).toBe('failed');
    expect(ext.next.lastError).toMatch(why);
    expect(grant.next.expiresAt).toEqual(original.expiresAt);
    expect(grant.effects).toEqual([]);
  });
});

function must2(r: Result<[Transition, Transition]>): [Transition, Transition] {
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

describe('escalation', () => {
  const CHARLIE = 'U0CHARL07';
  const escalating: Policy = {
    ...policy,
    resources: {
      'prod-db': {
        ...policy.resources['prod-db']!,
        roles: { read: { ...policy.resources['prod-db']!.roles.read!, escalation: { afterMs: 2 * HOUR, channel: 'C0ESCALAT1', users: [CHARLIE] } } },
      },
    },
  };
  const waiting = () => pending({ escalateAt: at(2 * HOUR), escalationChannel: 'C0ESCALAT1' });

  it('is scheduled at submit and happens once, when due, posting the card to the escalation channel and its users', () => {
    expect(submit(draft({ escalateAt: at(2 * HOUR), escalationChannel: 'C0ESCALAT1' })).effects).toContainEqual({ type: 'schedule-check', check: 'escalate', at: at(2 * HOUR) });
    expect(codeOf(escalate(waiting(), at(2 * HOUR - 1)))).toBe('NOT_DUE');
    const t = must(escalate(waiting(), at(2 * HOUR)));
    expect(t.next.escalatedAt).toEqual(at(2 * HOUR));
    expect(t.effects).toEqual([{ type: 'post-cards', escalated: true }, { type: 'refresh-cards' }]);
    expect(codeOf(escalate(t.next, at(3 * HOUR)))).toBe('NOT_IN_STATE');
  });

  it('lets the escalation group decide only after escalation; the requester never', () => {
    const before = waiting();
    const after = must(escalate(before, at(2 * HOUR))).next;
    expect(checkDecider(escalating, before, CHARLIE)?.code).toBe('NOT_AN_APPROVER');
    expect(checkDecider(escalating, after, CHARLIE)).toBeNull();
    expect(checkDecider(escalating, after, BOB)).toBeNull();
    expect(checkDecider(escalating, after, ALICE)?.code).toBe('SELF_APPROVAL');
    expect(checkDecider(escalating, after, MALLORY)?.code).toBe('NOT_AN_APPROVER');
  });
});
