import { describe, expect, it } from 'vitest';
import { describeHours, isTimeZone, localTime, minutesOf, withinBusinessHours } from '../../src/domain/business-hours.js';
import { DAY, HOUR, MINUTE } from '../../src/domain/duration.js';
import type { BusinessHours, RiskRule } from '../../src/domain/policy.js';
import { HISTORY_LOOKBACK_MS, riskFlags, type HistoryEntry, type RiskCode } from '../../src/domain/risk.js';

const utc = (iso: string): Date => new Date(iso);
const PARIS: BusinessHours = { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '18:00', tz: 'Europe/Paris' };
const NEW_YORK: BusinessHours = { ...PARIS, tz: 'America/New_York' };

describe('withinBusinessHours: local wall-clock time, DST included', () => {
  it.each<[string, BusinessHours, string, boolean]>([
    ['Paris summer (UTC+2): 08:59 local is before the start', PARIS, '2025-08-06T06:59:00Z', false],
    ['Paris summer: 09:00 local, the start, is inside', PARIS, '2025-08-06T07:00:00Z', true],
    ['Paris summer: 17:59 local is inside', PARIS, '2025-08-06T15:59:00Z', true],
    ['Paris summer: 18:00 local, the end, is outside', PARIS, '2025-08-06T16:00:00Z', false],
    ['Paris winter (UTC+1): 08:30 UTC is 09:30 local', PARIS, '2025-01-15T08:30:00Z', true],
    ['Paris on a Saturday', PARIS, '2025-08-09T10:00:00Z', false],
    // The US moved to daylight time on Sunday 9 March 2025: the same 13:30 UTC is 08:30 before, 09:30 after.
    ['New York, Friday before the DST change: 13:30 UTC is 08:30 EST', NEW_YORK, '2025-03-07T13:30:00Z', false],
    ['New York, Monday after the DST change: 13:30 UTC is 09:30 EDT', NEW_YORK, '2025-03-10T13:30:00Z', true],
    // Europe changes three weeks later: on 10 March Paris is still UTC+1.
    ['Paris the same Monday: 07:30 UTC is 08:30 CET', PARIS, '2025-03-10T07:30:00Z', false],
    // Paris skips 02:00–03:00 on 30 March 2025: 01:30 UTC is already 03:30 CEST.
    ['Paris on the spring-forward night, 01:30 UTC is 03:30 local', { ...PARIS, days: ['sun'], start: '03:00', end: '04:00' }, '2025-03-30T01:30:00Z', true],
    ['Paris on the spring-forward night, 00:30 UTC is 01:30 local', { ...PARIS, days: ['sun'], start: '03:00', end: '04:00' }, '2025-03-30T00:30:00Z', false],
    // New York repeats 01:00–02:00 on 2 November 2025: both 01:30s are inside, 02:30 EST is not.
    ['New York fall-back, first 01:30 (EDT)', { ...NEW_YORK, days: ['sun'], start: '01:00', end: '02:00' }, '2025-11-02T05:30:00Z', true],
    ['New York fall-back, second 01:30 (EST)', { ...NEW_YORK, days: ['sun'], start: '01:00', end: '02:00' }, '2025-11-02T06:30:00Z', true],
    ['New York fall-back, 02:30 EST', { ...NEW_YORK, days: ['sun'], start: '01:00', end: '02:00' }, '2025-11-02T07:30:00Z', false],
    ['Kolkata (UTC+5:30): 03:25 UTC is 08:55 local', { ...PARIS, tz: 'Asia/Kolkata' }, '2025-08-06T03:25:00Z', false],
    ['Kolkata: 03:35 UTC is 09:05 local', { ...PARIS, tz: 'Asia/Kolkata' }, '2025-08-06T03:35:00Z', true],
    // Friday 22:00 UTC is already Saturday 10:00 in Auckland.
    ['Auckland: a UTC Friday that is a local Saturday', { ...PARIS, tz: 'Pacific/Auckland' }, '2025-08-08T22:00:00Z', false],
    ['until 24:00: 23:59 local is inside', { ...PARIS, tz: 'UTC', start: '20:00', end: '24:00' }, '2025-08-06T23:59:00Z', true],
    ['until 24:00: midnight is the next day', { ...PARIS, tz: 'UTC', days: ['wed'], start: '00:00', end: '24:00' }, '2025-08-07T00:00:00Z', false],
  ])('%s', (_label, hours, at, expected) => {
    expect(withinBusinessHours(hours, utc(at))).toBe(expected);
  });

  it('tells the local day and time', () => {
    expect(localTime(utc('2025-08-08T22:05:00Z'), 'Pacific/Auckland')).toEqual({ day: 'sat', minutes: 10 * 60 + 5, label: 'Sat 10:05' });
    expect(localTime(utc('2025-08-06T22:00:00Z'), 'UTC').label).toBe('Wed 22:00');
    expect(localTime(utc('2025-08-06T00:00:00Z'), 'UTC')).toMatchObject({ minutes: 0, label: 'Wed 00:00' });
  });

  it.each([
    ['09:00', 540],
    ['23:59', 1439],
    ['24:00', 1440],
    ['00:00', 0],
    ['9:00', null],
    ['24:01', null],
    ['12:60', null],
    ['noon', null],
  ])('minutesOf(%s) is %s', (text, minutes) => {
    expect(minutesOf(text)).toBe(minutes);
  });

  it.each([
    [PARIS, 'Mon–Fri 09:00–18:00 Europe/Paris'],
    [{ ...PARIS, days: ['fri', 'mon', 'wed'] } as BusinessHours, 'Mon, Wed, Fri 09:00–18:00 Europe/Paris'],
    [{ ...PARIS, days: ['sat', 'sun'] } as BusinessHours, 'Sat, Sun 09:00–18:00 Europe/Paris'],
  ])('describes %j as %s', (hours, text) => {
    expect(describeHours(hours)).toBe(text);
  });

  it.each([
    ['Europe/Paris', true],
    ['UTC', true],
    ['America/Argentina/Buenos_Aires', true],
    ['Mars/Olympus', false],
    ['', false],
  ])('isTimeZone(%j) is %s', (tz, expected) => {
    expect(isTimeZone(tz)).toBe(expected);
  });
});

describe('riskFlags', () => {
  const NOW = utc('2025-08-06T10:00:00Z'); // a Wednesday, 12:00 in Paris
  const ago = (ms: number): Date => new Date(NOW.getTime() - ms);
  const seen = (createdAt: Date, over: Partial<HistoryEntry> = {}): HistoryEntry => ({
    resource: 'prod-db',
    role: 'read',
    createdAt,
    autoApproved: false,
    ...over,
  });
  const known = [seen(ago(30 * DAY))]; // asked for prod-db before: no first-request flag
  const request = { resource: 'prod-db', role: 'read', durationMs: HOUR };
  const codes = (risk: RiskRule | undefined, history: HistoryEntry[], over: Partial<typeof request> = {}, now = NOW): RiskCode[] =>
    riskFlags(risk, { ...request, ...over }, history, now).map((f) => f.code);

  it.each<[string, RiskRule | undefined, HistoryEntry[], Partial<typeof request>, Date, RiskCode[]]>([
    ['no risk block: nothing is flagged, not even a first request', undefined, [], {}, NOW, []],
    ['an empty risk block flags only a first request', { high: false }, [], {}, NOW, ['first-request']],
    ['a request for a resource asked for before is not a first request', { high: false }, known, {}, NOW, []],
    ['another role of the same resource counts as asked before', { high: false }, [seen(ago(DAY), { role: 'write' })], {}, NOW, []],
    ['only other resources before: a first request', { high: false }, [seen(ago(DAY), { resource: 'billing-db' })], {}, NOW, ['first-request']],
    ['a request older than the lookback does not count', { high: false }, [seen(ago(HISTORY_LOOKBACK_MS + MINUTE))], {}, NOW, ['first-request']],
    ['entries after now are ignored', { high: false }, [seen(new Date(NOW.getTime() + MINUTE))], {}, NOW, ['first-request']],
    ['high-risk role', { high: true }, known, {}, NOW, ['high-risk-role']],
    ['longer than usual', { high: false, usualDurationMs: 30 * MINUTE }, known, {}, NOW, ['long-duration']],
    ['exactly the usual duration is not long', { high: false, usualDurationMs: HOUR }, known, {}, NOW, []],
    ['within business hours', { high: false, businessHours: PARIS }, known, {}, NOW, []],
    ['outside business hours', { high: false, businessHours: PARIS }, known, {}, utc('2025-08-09T10:00:00Z'), ['outside-business-hours']],
    [
      'a burst: two requests in the window and this one make three',
      { high: false, burst: { count: 3, withinMs: 10 * MINUTE } },
      [...known, seen(ago(9 * MINUTE)), seen(ago(MINUTE), { resource: 'billing-db' })],
      {},
      NOW,
      ['burst'],
    ],
    [
      'not a burst when one of them is outside the window',
      { high: false, burst: { count: 3, withinMs: 10 * MINUTE } },
      [...known, seen(ago(11 * MINUTE)), seen(ago(MINUTE))],
      {},
      NOW,
      [],
    ],
  ])('%s', (_label, risk, history, over, now, expected) => {
    expect(codes(risk, history, over, now)).toEqual(expected);
  });

  it('raises every flag at once in a fixed order', () => {
    const sat = utc('2025-08-09T10:00:00Z');
    const risk: RiskRule = { high: true, usualDurationMs: 30 * MINUTE, businessHours: PARIS, burst: { count: 2, withinMs: HOUR } };
    expect(codes(risk, [seen(new Date(sat.getTime() - MINUTE), { resource: 'billing-db' })], {}, sat)).toEqual([
      'outside-business-hours',
      'long-duration',
      'first-request',
      'burst',
      'high-risk-role',
    ]);
  });

  it('says why, in words a person can check', () => {
    const sat = utc('2025-08-09T10:00:00Z');
    const flags = riskFlags(
      { high: true, usualDurationMs: 30 * MINUTE, businessHours: PARIS, burst: { count: 2, withinMs: 10 * MINUTE } },
      { resource: 'prod-db', role: 'admin', durationMs: 2 * HOUR },
      [seen(new Date(sat.getTime() - MINUTE), { resource: 'billing-db' })],
      sat,
    );
    expect(Object.fromEntries(flags.map((f) => [f.code, f.reason]))).toEqual({
      'outside-business-hours': 'requested Sat 12:00 Europe/Paris, outside business hours (Mon–Fri 09:00–18:00 Europe/Paris)',
      'long-duration': 'asks for 2h, longer than the usual 30m',
      'first-request': 'the first request for prod-db by this person in 90 days',
      burst: '2 requests by this person within 10m (this one included)',
      'high-risk-role': 'prod-db / admin is marked high-risk in the policy',
    });
  });
});
