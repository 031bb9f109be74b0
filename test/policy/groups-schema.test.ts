import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import { oneRolePolicy, policyErrors, roleOf } from './one-role.js';

/** One role; `role` lines replace everything under it after `grants`/`max_duration`/`channel`. */
function file(role: string): string {
  return oneRolePolicy(
    `grants: [app_read]
max_duration: 4h
channel: C0APPROVE1`,
    role,
  );
}

const errorsOf = (text: string): string => policyErrors(text).join('\n');

describe('policy: user groups, default_duration, notify (accepted)', () => {
  it('reads approver and requester groups next to users', () => {
    const read = roleOf(
      file(`
approvers: { users: [U0BOB0002], groups: [S0SRE0001] }
requesters: { groups: [S0DEVS001] }`),
    );
    expect(read?.approvers).toEqual({ users: ['U0BOB0002'], groups: ['S0SRE0001'] });
    expect(read?.requesters).toEqual({ users: [], groups: ['S0DEVS001'] });
  });

  it('a users-only role has no groups key (compares equal to a role from before groups)', () => {
    const read = roleOf(file('approvers: { users: [U0BOB0002] }'));
    expect(read?.approvers).toEqual({ users: ['U0BOB0002'] });
    expect(read).not.toHaveProperty('notify');
    expect(read).not.toHaveProperty('defaultDurationMs');
  });

  it('does not count approvers when groups are used: 3 approvals with one user and a group is accepted', () => {
    const read = roleOf(
      file(`
approvers: { users: [U0BOB0002], groups: [S0SRE0001] }
approvals: 3`),
    );
    expect(read?.approvals).toBe(3);
  });

  it('reads default_duration and notify.dm_approvers', () => {
    const read = roleOf(
      file(`
approvers: { users: [U0BOB0002] }
default_duration: 30m
notify: { dm_approvers: true }`),
    );
    expect(read?.defaultDurationMs).toBe(30 * MINUTE);
    expect(read?.notify).toEqual({ dmApprovers: true });
  });

  it('accepts default_duration equal to max_duration', () => {
    expect(roleOf(file('approvers: { users: [U0BOB0002] }\ndefault_duration: 4h'))?.defaultDurationMs).toBe(4 * HOUR);
  });
});

describe('policy: user groups, default_duration, notify (refused)', () => {
  it.each([
    { name: 'a group id that is not an S… id', role: 'approvers: { groups: [sre-team] }', says: /"sre-team" is not a Slack user group id/ },
    { name: 'a @handle as a group', role: 'approvers: { groups: ["@sre"] }', says: /is not a Slack user group id/ },
    { name: 'a user id among groups', role: 'approvers: { groups: [U0BOB0002] }', says: /is not a Slack user group id/ },
    { name: 'approvers with neither users nor groups', role: 'approvers: {}', says: /approvers\.users.*list at least one approver/ },
    { name: 'approvers with both lists empty', role: 'approvers: { users: [], groups: [] }', says: /approvers\.groups.*list at least one approver/ },
    {
      name: 'requesters with empty groups only',
      role: 'approvers: { users: [U0BOB0002] }\nrequesters: { groups: [] }',
      says: /requesters\.groups.*list at least one requester/,
    },
    { name: 'an unknown key in approvers', role: 'approvers: { users: [U0BOB0002], group: [S0SRE0001] }', says: /did you mean "groups"/ },
    {
      name: 'users-only approvers still counted',
      role: 'approvers: { users: [U0BOB0002] }\napprovals: 2',
      says: /2 approvals are required but only 1 distinct approver is listed/,
    },
    { name: 'default_duration over max_duration', role: 'approvers: { users: [U0BOB0002] }\ndefault_duration: 5h', says: /default_duration.*must be at most max_duration \(4h\)/ },
    { name: 'default_duration not a duration', role: 'approvers: { users: [U0BOB0002] }\ndefault_duration: soon', says: /default_duration/ },
    { name: 'dm_approvers not a boolean', role: 'approvers: { users: [U0BOB0002] }\nnotify: { dm_approvers: yes please }', says: /must be true or false/ },
    { name: 'an unknown notify key', role: 'approvers: { users: [U0BOB0002] }\nnotify: { dm_approver: true }', says: /did you mean "dm_approvers"/ },
  ])('refuses $name', ({ role, says }) => {
    expect(errorsOf(file(role))).toMatch(says);
  });
});
