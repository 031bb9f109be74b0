import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { editRole, errorsByField, splitList, type RoleChange, type RoleFields } from '../../src/policy/edit-role.js';

const POLICY = `# the team's policy
version: 1
admins: [U0ADMIN03]
resources:
  prod-db:
    provider: postgres # the main database
    connection: { env: PROD_DB_URL }
    roles:
      read:
        grants: [pg_read_all_data]
        max_duration: 4h # on-call shift
        approvers: { users: [U0BOB0002, U0CAROL03], groups: [S0DBA0001] }
        approvals: 1
        channel: C0APPROVE1
        requesters: { users: [U0ALICE01] }
      write:
        grants: [pg_write_all_data]
        max_duration: 1h
        approvers: { users: [U0BOB0002, U0CAROL03] }
        approvals: 2
        channel: C0APPROVE1
  solo:
    provider: postgres
    connection: { env: SOLO_URL }
    roles:
      only:
        grants: [r]
        max_duration: 1h
        approvers: { users: [U0BOB0002] }
        channel: C0APPROVE1
`;

const fields = (patch: Partial<RoleFields> = {}): RoleFields => ({
  maxDuration: '2h',
  approvals: '1',
  approvers: ['U0BOB0002'],
  channel: 'C0OTHER01',
  grants: ['pg_read_all_data', 'pg_monitor'],
  ...patch,
});

const roleOf = (text: string, resource: string, role: string) => (parse(text) as any).resources[resource].roles[role];

describe('editRole', () => {
  it('edits only the role’s common keys, keeping comments, other keys and other roles', () => {
    const r = editRole(POLICY, { kind: 'edit', resource: 'prod-db', role: 'read', fields: fields() });
    if (!r.ok) throw new Error(r.message);
    expect(r.text).toContain('# the team\'s policy');
    expect(r.text).toContain('provider: postgres # the main database');
    expect(r.text).toContain('max_duration: 2h # on-call shift');
    expect(roleOf(r.text, 'prod-db', 'read')).toEqual({
      grants: ['pg_read_all_data', 'pg_monitor'],
      max_duration: '2h',
      approvers: { users: ['U0BOB0002'], groups: ['S0DBA0001'] },
      approvals: 1,
      channel: 'C0OTHER01',
      requesters: { users: ['U0ALICE01'] },
    });
    expect(roleOf(r.text, 'prod-db', 'write')).toEqual(roleOf(POLICY, 'prod-db', 'write'));
    // Everything outside the role means the same, and its block lines are unchanged.
    const { resources: after, ...restAfter } = parse(r.text) as any;
    const { resources: before, ...restBefore } = parse(POLICY) as any;
    expect(restAfter).toEqual(restBefore);
    expect(after.solo).toEqual(before.solo);
    const blockLines = (t: string) => t.split('\n').filter((l) => !/^ {8}/.test(l) && !/[[{]/.test(l));
    expect(blockLines(r.text)).toEqual(blockLines(POLICY));
  });

  it.each<[string, Partial<RoleFields>, Record<string, unknown>]>([
    ['approvals typed as a number', { approvals: ' 2 ' }, { approvals: 2 }],
    ['approvals not a number is kept as typed, for the parser to refuse', { approvals: 'two' }, { approvals: 'two' }],
    ['empty approvals removes the key (the default applies)', { approvals: '' }, { approvals: undefined }],
    ['no approvers users, with groups kept', { approvers: [] }, { approvers: { groups: ['S0DBA0001'] } }],
    ['max_duration trimmed', { maxDuration: ' forever ' }, { max_duration: 'forever' }],
  ])('edit: %s', (_name, patch, expected) => {
    const r = editRole(POLICY, { kind: 'edit', resource: 'prod-db', role: 'read', fields: fields(patch) });
    if (!r.ok) throw new Error(r.message);
    const role = roleOf(r.text, 'prod-db', 'read');
    for (const [key, value] of Object.entries(expected)) {
      if (value === undefined) expect(role).not.toHaveProperty(key);
      else expect(role[key]).toEqual(value);
    }
  });

  it('adds a role in flow style', () => {
    const r = editRole(POLICY, { kind: 'add', resource: 'solo', role: 'audit', fields: fields({ approvals: '' }) });
    if (!r.ok) throw new Error(r.message);
    expect(roleOf(r.text, 'solo', 'audit')).toEqual({ grants: ['pg_read_all_data', 'pg_monitor'], max_duration: '2h', approvers: { users: ['U0BOB0002'] }, channel: 'C0OTHER01' });
    expect(r.text).toContain('grants: [ pg_read_all_data, pg_monitor ]');
  });

  it('deletes a role', () => {
    const r = editRole(POLICY, { kind: 'delete', resource: 'prod-db', role: 'write' });
    if (!r.ok) throw new Error(r.message);
    expect(Object.keys((parse(r.text) as any).resources['prod-db'].roles)).toEqual(['read']);
    expect(r.text).toContain('max_duration: 4h # on-call shift');
  });

  it.each<[string, RoleChange, string, RegExp]>([
    ['unknown resource', { kind: 'edit', resource: 'nope', role: 'read', fields: fields() }, 'resource', /no resource "nope"/],
    ['unknown role (edit)', { kind: 'edit', resource: 'prod-db', role: 'nope', fields: fields() }, 'general', /no role "nope"/],
    ['existing role (add)', { kind: 'add', resource: 'prod-db', role: 'read', fields: fields() }, 'role', /already has a role "read"/],
    ['bad role name (add)', { kind: 'add', resource: 'prod-db', role: 'a b', fields: fields() }, 'role', /role name/],
    ['unknown role (delete)', { kind: 'delete', resource: 'prod-db', role: 'nope' }, 'role', /no role "nope"/],
    ['the last role of a resource', { kind: 'delete', resource: 'solo', role: 'only' }, 'role', /last role of solo/],
  ])('refuses: %s', (_name, change, field, message) => {
    const r = editRole(POLICY, change);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.field).toBe(field);
    expect(r.message).toMatch(message);
  });

  describe('YAML anchors and aliases', () => {
    // POLICY's head, down to prod-db's `roles:`, then roles sharing values through anchors.
    const ANCHORED = `${POLICY.slice(0, POLICY.indexOf('      read:'))}      read:
        grants: [app_read]
        max_duration: &maxd 4h
        approvers: &oncall { users: [U0BOB0002, U0CAROL03] }
        channel: &ch C0APPROVE1
      write:
        grants: [app_write]
        max_duration: *maxd
        approvers: *oncall
        channel: *ch
      audit:
        grants: [app_audit]
        max_duration: 1h
        approvers: { users: [U0BOB0002] }
        channel: C0APPROVE1
`;
    const anchorRefusal = { ok: false, field: 'general', message: expect.stringMatching(/anchors or aliases.*accessbot policy apply/) };
    const edit = (role: string): RoleChange => ({
      kind: 'edit',
      resource: 'prod-db',
      role,
      fields: { maxDuration: '30d', approvals: '1', approvers: ['U0EVE0001'], channel: 'C0OTHER01', grants: ['app_read'] },
    });

    it('refuses to edit a role holding anchors others alias: nothing changes, the aliasing role least of all', () => {
      expect(editRole(ANCHORED, edit('read'))).toEqual(anchorRefusal);
      expect(roleOf(ANCHORED, 'prod-db', 'write')).toEqual({
        grants: ['app_write'],
        max_duration: '4h',
        approvers: { users: ['U0BOB0002', 'U0CAROL03'] },
        channel: 'C0APPROVE1',
      });
    });

    it('refuses to edit a role that uses aliases', () => {
      expect(editRole(ANCHORED, edit('write'))).toEqual(anchorRefusal);
    });

    it('refuses, never throws, deleting the role that holds the anchors', () => {
      expect(() => editRole(ANCHORED, { kind: 'delete', resource: 'prod-db', role: 'read' })).not.toThrow();
      expect(editRole(ANCHORED, { kind: 'delete', resource: 'prod-db', role: 'read' })).toEqual(anchorRefusal);
    });

    it('refuses a role inside a map another resource aliases', () => {
      const text = `${ANCHORED.replace('    roles:\n', '    roles: &shared\n')}  copy:
    provider: postgres
    connection: { env: COPY_URL }
    roles: *shared
`;
      expect(editRole(text, edit('audit'))).toEqual(anchorRefusal);
      expect(editRole(text, { kind: 'add', resource: 'prod-db', role: 'extra', fields: fields() })).toEqual(anchorRefusal);
    });

    it('still edits, adds and deletes roles with no anchors in a file where other roles use them', () => {
      const edited = editRole(ANCHORED, edit('audit'));
      if (!edited.ok) throw new Error(edited.message);
      expect(roleOf(edited.text, 'prod-db', 'audit')).toEqual({ grants: ['app_read'], max_duration: '30d', approvers: { users: ['U0EVE0001'] }, approvals: 1, channel: 'C0OTHER01' });
      expect(roleOf(edited.text, 'prod-db', 'write')).toEqual(roleOf(ANCHORED, 'prod-db', 'write'));
      expect(edited.text).toContain('max_duration: *maxd');

      const deleted = editRole(ANCHORED, { kind: 'delete', resource: 'prod-db', role: 'audit' });
      if (!deleted.ok) throw new Error(deleted.message);
      expect(Object.keys((parse(deleted.text) as any).resources['prod-db'].roles)).toEqual(['read', 'write']);

      const added = editRole(ANCHORED, { kind: 'add', resource: 'prod-db', role: 'extra', fields: fields() });
      expect(added.ok).toBe(true);
    });
  });

  it('refuses a text that is not YAML', () => {
    expect(editRole('a: [', { kind: 'delete', resource: 'x', role: 'y' })).toMatchObject({ ok: false, field: 'general' });
  });
});

describe('errorsByField', () => {
  const FIELDS = ['max_duration', 'approvals', 'approvers', 'channel', 'grants'] as const;
  it.each<[string, string, string]>([
    ['policy: resources.prod-db.roles.read.max_duration: "forever" is not a duration', 'max_duration', '"forever" is not a duration'],
    ['policy: resources.prod-db.roles.read.approvers.users[0]: "x" is not a Slack user id', 'approvers', '"x" is not a Slack user id'],
    ['policy: resources.prod-db.roles.read.grants: list at least one grant', 'grants', 'list at least one grant'],
    ['policy: resources.prod-db.roles.read.approvals: 3 approvals are required', 'approvals', '3 approvals are required'],
    ['policy: resources.prod-db.roles.write.max_duration: bad', 'general', 'policy: resources.prod-db.roles.write.max_duration: bad'],
    ['policy: admins: must be a list', 'general', 'policy: admins: must be a list'],
    ['policy: resources.prod-db.roles.read.risk.flagged_approvals: too many', 'general', 'risk.flagged_approvals: too many'],
  ])('%s → %s', (line, field, message) => {
    expect(errorsByField([line], 'prod-db', 'read', FIELDS).get(field as never)).toEqual([message]);
  });

  it('quotes names the parser quotes', () => {
    const m = errorsByField(['policy: resources.["db.main"].roles.read.channel: bad'], 'db.main', 'read', FIELDS);
    expect(m.get('channel')).toEqual(['bad']);
  });
});

describe('splitList', () => {
  it('splits on commas and newlines, dropping blanks', () => {
    expect(splitList(' a, b ,,\nc ')).toEqual(['a', 'b', 'c']);
  });
});
