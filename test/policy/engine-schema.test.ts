import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import { oneRolePolicy, policyErrors, roleOf } from './one-role.js';

/** A role with the policy engine's settings; `extra` lines go under the role, indented as they are here. */
function file(extra: string, approvals = 1): string {
  return oneRolePolicy(
    `grants: [app_read]
max_duration: 4h
approvers: { users: [U0BOB0002, U0CAROL03] }
approvals: ${approvals}
channel: C0APPROVE1`,
    extra,
  );
}

const errorsOf = policyErrors;

describe('policy engine settings: accepted', () => {
  it('reads justification, auto_approve and risk into the role, with defaults', () => {
    const read = roleOf(
      file(`
justification: { min_length: 15, ticket_pattern: '(INC|CHG)-\\d+' }
auto_approve:
  max_duration: 1h
  business_hours: { start: "09:00", end: "18:00", tz: Europe/Paris }
  max_per_day: 3
risk:
  usual_duration: 2h
  business_hours: { days: [mon, tue, wed, thu, fri, sat], start: "07:00", end: "22:00", tz: America/New_York }
  burst: { count: 3, within: 10m }
  flagged_approvals: 2
`),
    );
    expect(read?.justification).toEqual({ minLength: 15, ticketPattern: '(INC|CHG)-\\d+' });
    expect(read?.autoApprove).toEqual({
      maxDurationMs: HOUR,
      businessHours: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '18:00', tz: 'Europe/Paris' },
      maxPerDay: 3,
    });
    expect(read?.risk).toEqual({
      high: false,
      usualDurationMs: 2 * HOUR,
      businessHours: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '07:00', end: '22:00', tz: 'America/New_York' },
      burst: { count: 3, withinMs: 10 * MINUTE },
      flaggedApprovals: 2,
    });
  });

  it('keeps only what is written', () => {
    const read = roleOf(file('auto_approve: {}\nrisk: { high: true }\njustification: { min_length: 5 }'));
    expect(read?.autoApprove).toEqual({});
    expect(read?.risk).toEqual({ high: true });
    expect(read?.justification).toEqual({ minLength: 5 });
  });

  it('leaves a role without them as it was', () => {
    const read = roleOf(file(''));
    for (const key of ['justification', 'autoApprove', 'risk']) expect(read && key in read).toBe(false);
  });
});

describe('policy engine settings: refused, naming the path', () => {
  const at = 'policy.yaml: resources.prod-db.roles.read';
  it.each<[string, string, string, number?]>([
    ['a regex that does not compile', `justification: { ticket_pattern: '(INC-' }`, `${at}.justification.ticket_pattern: is not a valid regular expression`],
    ['an empty regex', `justification: { ticket_pattern: '' }`, `${at}.justification.ticket_pattern: cannot be empty`],
    ['min_length above what a reason may hold', 'justification: { min_length: 501 }', `${at}.justification.min_length: must be at most 500`],
    ['min_length of zero', 'justification: { min_length: 0 }', `${at}.justification.min_length: must be at least 1`],
    ['an unknown time zone', 'auto_approve: { business_hours: { start: "09:00", end: "17:00", tz: Mars/Olympus } }', `${at}.auto_approve.business_hours.tz: "Mars/Olympus" is not a time zone`],
    ['a time that is not HH:MM', 'auto_approve: { business_hours: { start: 9am, end: "17:00", tz: UTC } }', `${at}.auto_approve.business_hours.start: must be a 24-hour time`],
    ['hours that end before they start', 'risk: { business_hours: { start: "18:00", end: "09:00", tz: UTC } }', `${at}.risk.business_hours.end: must be after start (18:00)`],
    ['an unknown day', 'risk: { business_hours: { days: [mon, funday], start: "09:00", end: "17:00", tz: UTC } }', `${at}.risk.business_hours.days[1]: must be a day: mon, tue`],
    ['business hours without a zone', 'auto_approve: { business_hours: { start: "09:00", end: "17:00" } }', `${at}.auto_approve.business_hours.tz: required`],
    ['a rate brake of zero', 'auto_approve: { max_per_day: 0 }', `${at}.auto_approve.max_per_day: must be at least 1`],
    ['a fractional rate brake', 'auto_approve: { max_per_day: 1.5 }', `${at}.auto_approve.max_per_day: must be a whole number of auto-approvals`],
    ['a duration people cannot type', 'auto_approve: { max_duration: 2 hours }', `${at}.auto_approve.max_duration: "2 hours" is not a duration`],
    ['a misspelt key, with a suggestion', 'auto_approve: { max_per_dya: 3 }', `${at}.auto_approve: unknown key "max_per_dya" (did you mean "max_per_day"?)`],
    ['a burst of one', 'risk: { burst: { count: 1, within: 10m } }', `${at}.risk.burst.count: must be at least 2`],
    ['high that is not a boolean', 'risk: { high: yes please }', `${at}.risk.high: must be true or false`],
    ['more flagged approvals than approvers', 'risk: { flagged_approvals: 3 }', `${at}.risk.flagged_approvals: 3 approvals are required for a flagged request but only 2 distinct approvers are listed`],
    ['fewer flagged approvals than approvals', 'risk: { flagged_approvals: 1 }', `${at}.risk.flagged_approvals: must be at least approvals (2)`, 2],
  ])('%s', (_label, extra, message, approvals) => {
    const errors = errorsOf(file(extra, approvals));
    expect(errors.some((e) => e.startsWith(message)), errors.join('\n')).toBe(true);
  });
});

describe('auto_approve.groups and break_glass', () => {
  it('reads the auto-approval groups and the break-glass switch into the role', () => {
    const read = roleOf(file(`
auto_approve: { groups: [S0ONCALL1] }
break_glass: true
`));
    expect(read?.autoApprove).toEqual({ groups: ['S0ONCALL1'] });
    expect(read?.breakGlass).toBe(true);
    expect(roleOf(file(''))?.breakGlass).toBeUndefined();
  });

  it.each([
    ['auto_approve: { groups: ["@oncall"] }', /not a Slack user group id/],
    ['auto_approve: { groups: [] }', /at least one Slack user group/],
    ['break_glass: yes please', /true or false/],
  ])('refuses %s', (extra, message) => {
    expect(errorsOf(file(extra)).join('\n')).toMatch(message);
  });
});
