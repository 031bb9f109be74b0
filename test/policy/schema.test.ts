import { describe, expect, it } from 'vitest';
import { HOUR } from '../../src/domain/duration.js';
import type { Policy } from '../../src/domain/policy.js';
import { ROLE_TIMING_DEFAULTS } from '../../src/domain/policy.js';
import { parsePolicy } from '../../src/policy/load.js';
import { policyFileSchema, toPolicy } from '../../src/policy/schema.js';

const GOOD = `version: 1
admins: [U0ADMIN03]
resources:
  prod-db:
    provider: postgres
    connection: { env: PROD_DB_URL }
    roles:
      read:
        grants: [app_read]
        max_duration: 4h
        approvers: { users: [U0BOB0002, U0CAROL03] }
        approvals: 1
        channel: C0APPROVE1
      write:
        grants: [app_write]
        max_duration: 1h
        approvers: { users: [U0BOB0002, U0CAROL03] }
        approvals: 2
        channel: C0APPROVE1
`;

const EXPECTED: Policy = {
  version: 1,
  admins: ['U0ADMIN03'],
  principals: {},
  resources: {
    'prod-db': {
      provider: 'postgres',
      settings: { connection: { env: 'PROD_DB_URL' } },
      principal: 'email-local-part',
      roles: {
        read: {
          grants: ['app_read'],
          maxDurationMs: 4 * HOUR,
          approvers: { users: ['U0BOB0002', 'U0CAROL03'] },
          approvals: 1,
          channel: 'C0APPROVE1',
          ...ROLE_TIMING_DEFAULTS,
        },
        write: {
          grants: ['app_write'],
          maxDurationMs: 1 * HOUR,
          approvers: { users: ['U0BOB0002', 'U0CAROL03'] },
          approvals: 2,
          channel: 'C0APPROVE1',
          ...ROLE_TIMING_DEFAULTS,
        },
      },
    },
  },
};

/** GOOD with one exact substring replaced; fails loudly if the substring is not there. */
function edit(from: string | RegExp, to: string): string {
  const out = GOOD.replace(from, to);
  if (out === GOOD) throw new Error(`test setup: ${String(from)} not found`);
  return out;
}

function errorsOf(text: string): string[] {
  const result = parsePolicy(text, 'policy.yaml');
  if (result.ok) throw new Error('expected the policy to be refused');
  return result.errors;
}

describe('policy file: accepted', () => {
  it('turns the reference file into the domain Policy', () => {
    expect(parsePolicy(GOOD, 'policy.yaml')).toEqual({ ok: true, policy: EXPECTED });
  });

  it('has no stray requesters key on roles without requesters', () => {
    const result = parsePolicy(GOOD, 'policy.yaml');
    expect(result.ok && 'requesters' in (result.policy.resources['prod-db']?.roles.read ?? {})).toBe(false);
  });

  it('fills defaults: admins [], principals {}, approvals 1', () => {
    const text = edit('admins: [U0ADMIN03]\n', '').replace('        approvals: 1\n', '');
    const result = parsePolicy(text, 'policy.yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.policy.admins).toEqual([]);
    expect(result.policy.principals).toEqual({});
    expect(result.policy.resources['prod-db']?.roles.read?.approvals).toBe(1);
  });

  it.each([
    ['10s', 10_000],
    ['off', 0],
  ])('approval_grace: %s becomes approvalGraceMs %i; absent, the domain default applies', (written, ms) => {
    const result = parsePolicy(edit('approvals: 1', `approvals: 1\n        approval_grace: ${written}`), 'policy.yaml');
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.policy.resources['prod-db']!.roles.read!.approvalGraceMs).toBe(ms);
    const plain = parsePolicy(GOOD, 'policy.yaml');
    if (!plain.ok) throw new Error(plain.errors.join('\n'));
    expect(plain.policy.resources['prod-db']!.roles.read!.approvalGraceMs).toBeUndefined();
  });

  it('keeps principals and requesters', () => {
    const text = edit('admins: [U0ADMIN03]\n', 'admins: [U0ADMIN03]\nprincipals: { U0BOB0002: bob_dba }\n').replace(
      '        approvals: 1\n',
      '        approvals: 1\n        requesters: { users: [W0ALICE01] }\n',
    );
    const result = parsePolicy(text, 'policy.yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.policy.principals).toEqual({ U0BOB0002: 'bob_dba' });
    expect(result.policy.resources['prod-db']?.roles.read?.requesters).toEqual({ users: ['W0ALICE01'] });
  });

  it('keeps lock_timeout and statement_timeout as written, for the provider to build with', () => {
    const result = parsePolicy(edit('connection: { env: PROD_DB_URL }', 'connection: { env: PROD_DB_URL }\n    lock_timeout: 5s\n    statement_timeout: 1m'), 'policy.yaml');
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.policy.resources['prod-db']?.settings).toEqual({ connection: { env: 'PROD_DB_URL' }, lock_timeout: '5s', statement_timeout: '1m' });
  });

  it('exposes the file shape separately from the domain translation', () => {
    const file = policyFileSchema.parse({
      version: 1,
      resources: {
        db: {
          provider: 'postgres',
          connection: { env: 'DB_URL' },
          principal: 'email-local-part',
          roles: { r: { grants: ['g'], max_duration: '1h30m', approvers: { users: ['U01'] }, channel: 'C01' } },
        },
      },
    });
    expect((file.resources.db as { roles: Record<string, { max_duration: string }> } | undefined)?.roles.r?.max_duration).toBe('1h30m');
    expect(toPolicy(file).resources.db?.roles.r?.maxDurationMs).toBe(1.5 * HOUR);
  });
});

const SECRET_URL = 'postgres://admin:hunter2@db.internal:5432/prod';

const BAD: { name: string; text: string; path: string; says: RegExp }[] = [
  { name: 'wrong version', text: edit('version: 1', 'version: 2'), path: 'version', says: /unsupported version 2; supported versions: 1/ },
  { name: 'missing version', text: edit('version: 1\n', ''), path: 'version', says: /required.*version: 1/ },
  {
    name: 'typo in a role key',
    text: edit('max_duration: 4h', 'max_duraton: 4h'),
    path: 'resources.prod-db.roles.read',
    says: /unknown key "max_duraton" \(did you mean "max_duration"\?\)/,
  },
  { name: 'typo at the top level', text: edit('admins:', 'admin:'), path: '', says: /unknown key "admin" \(did you mean "admins"\?\)/ },
  {
    name: 'inline connection string',
    text: edit('{ env: PROD_DB_URL }', SECRET_URL),
    path: 'resources.prod-db.connection',
    says: /use \{ env: NAME \}.*secrets never go in the policy file/,
  },
  {
    name: 'connection string as env',
    text: edit('{ env: PROD_DB_URL }', `{ env: "${SECRET_URL}" }`),
    path: 'resources.prod-db.connection.env',
    says: /name of an environment variable.*not its value; secrets never go in the policy file/,
  },
  {
    name: 'connection url key',
    text: edit('{ env: PROD_DB_URL }', `{ url: "${SECRET_URL}" }`),
    path: 'resources.prod-db.connection',
    says: /only "env" is allowed here/,
  },
  {
    name: 'bad duration',
    text: edit('max_duration: 4h', 'max_duration: 4 hours'),
    path: 'resources.prod-db.roles.read.max_duration',
    says: /^"4 hours" is not a duration; use forms like/,
  },
  {
    name: 'duration over the ceiling',
    text: edit('max_duration: 4h', 'max_duration: 31d'),
    path: 'resources.prod-db.roles.read.max_duration',
    says: /too long/,
  },
  {
    name: 'approvals > approvers',
    text: edit('approvals: 2', 'approvals: 3'),
    path: 'resources.prod-db.roles.write.approvals',
    says: /3 approvals are required but only 2 distinct approvers are listed/,
  },
  {
    name: 'approvals counted over distinct approvers',
    text: edit(/approvers: \{ users: \[U0BOB0002, U0CAROL03\] \}\n {8}approvals: 2/, 'approvers: { users: [U0BOB0002, U0BOB0002] }\n        approvals: 2'),
    path: 'resources.prod-db.roles.write.approvals',
    says: /only 1 distinct approver is listed/,
  },
  { name: 'approvals 0', text: edit('approvals: 1', 'approvals: 0'), path: 'resources.prod-db.roles.read.approvals', says: /at least 1/ },
  { name: 'approval_grace over 5m', text: edit('approvals: 1', 'approvals: 1\n        approval_grace: 10m'), path: 'resources.prod-db.roles.read.approval_grace', says: /5m/ },
  { name: 'approval_grace not a duration', text: edit('approvals: 1', 'approvals: 1\n        approval_grace: soon'), path: 'resources.prod-db.roles.read.approval_grace', says: /duration/i },
  {
    name: 'bad channel id',
    text: edit('channel: C0APPROVE1', 'channel: "#approvals"'),
    path: 'resources.prod-db.roles.read.channel',
    says: /"#approvals" is not a Slack channel id/,
  },
  { name: 'bad admin id', text: edit('admins: [U0ADMIN03]', 'admins: [bob]'), path: 'admins[0]', says: /"bob" is not a Slack user id/ },
  {
    name: 'bad approver id',
    text: edit('users: [U0BOB0002, U0CAROL03] }\n        approvals: 1', 'users: [U0BOB0002, carol] }\n        approvals: 1'),
    path: 'resources.prod-db.roles.read.approvers.users[1]',
    says: /"carol" is not a Slack user id/,
  },
  { name: 'no approvers', text: edit(/\[U0BOB0002, U0CAROL03\] \}\n {8}approvals: 1/, '[] }\n        approvals: 1'), path: 'resources.prod-db.roles.read.approvers.users', says: /at least one approver/ },
  { name: 'empty roles', text: edit(/roles:[\s\S]*$/, 'roles: {}\n'), path: 'resources.prod-db.roles', says: /at least one role/ },
  { name: 'no grants', text: edit('grants: [app_read]', 'grants: []'), path: 'resources.prod-db.roles.read.grants', says: /at least one grant/ },
  {
    name: 'lock_timeout not a duration',
    text: edit('connection: { env: PROD_DB_URL }', 'connection: { env: PROD_DB_URL }\n    lock_timeout: 10'),
    path: 'resources.prod-db.lock_timeout',
    says: /must be a duration like 10s/,
  },
  {
    name: 'statement_timeout too short',
    text: edit('connection: { env: PROD_DB_URL }', 'connection: { env: PROD_DB_URL }\n    statement_timeout: 0s'),
    path: 'resources.prod-db.statement_timeout',
    says: /too short; the minimum is 1s/,
  },
  {
    name: 'statement_timeout too long',
    text: edit('connection: { env: PROD_DB_URL }', 'connection: { env: PROD_DB_URL }\n    statement_timeout: 2h'),
    path: 'resources.prod-db.statement_timeout',
    says: /too long; the maximum is 1h/,
  },
  { name: 'unknown provider', text: edit('provider: postgres', 'provider: oracle'), path: 'resources.prod-db.provider', says: /supported: postgres/ },
  { name: 'bad resource name', text: edit('prod-db:', '"prod db":'), path: 'resources["prod db"]', says: /not a valid resource name/ },
  { name: 'bad role name', text: edit('read:', '"-read":'), path: 'resources.prod-db.roles.-read', says: /not a valid role name/ },
  { name: 'missing channel', text: edit('        channel: C0APPROVE1\n', ''), path: 'resources.prod-db.roles.read.channel', says: /^required$/ },
  { name: 'resources as a list', text: 'version: 1\nresources: [prod-db]\n', path: 'resources', says: /must be a mapping/ },
  { name: 'empty file', text: '', path: '', says: /YAML mapping starting with "version: 1"/ },
];

describe('policy file: refused', () => {
  it.each(BAD)('$name → $path', ({ text, path, says }) => {
    const prefix = path === '' ? 'policy.yaml: ' : `policy.yaml: ${path}: `;
    const hits = errorsOf(text).filter((e) => e.startsWith(prefix) && says.test(e.slice(prefix.length)));
    expect(hits, errorsOf(text).join('\n')).toHaveLength(1);
  });

  it('never echoes a connection string written into the file', () => {
    for (const text of [
      edit('{ env: PROD_DB_URL }', SECRET_URL),
      edit('{ env: PROD_DB_URL }', `{ env: "${SECRET_URL}" }`),
      edit('{ env: PROD_DB_URL }', `{ url: "${SECRET_URL}" }`),
      edit('{ env: PROD_DB_URL }', `{ env: PROD_DB_URL, password: hunter2 }`),
    ]) {
      const errors = errorsOf(text).join('\n');
      expect(errors).not.toContain('hunter2');
      expect(errors).not.toContain('db.internal');
    }
  });

  it('reports every problem at once, one line each', () => {
    const text = edit('version: 1', 'version: 3').replace('max_duration: 4h', 'max_duration: forever').replace('channel: C0APPROVE1', 'channel: general');
    const errors = errorsOf(text);
    expect(errors.length).toBeGreaterThanOrEqual(3);
    for (const e of errors) expect(e).not.toContain('\n');
  });

  it('keeps a refused value that holds a line break on one line, escaped (found by the property test, seed 164634030)', () => {
    const errors = errorsOf(edit('max_duration: 4h', 'max_duration: "2h\\r\\nx"'));
    expect(errors).toEqual([
      'policy.yaml: resources.prod-db.roles.read.max_duration: "2h\\u000d\\u000ax" is not a duration; use forms like 30s, 15m, 2h, 1d or 1h30m',
    ]);
  });

  it('reports YAML syntax errors with line and column', () => {
    const errors = errorsOf(edit('grants: [app_write]', 'grants: [app_write'));
    expect(errors[0]).toMatch(/^policy\.yaml:16:\d+: YAML syntax error: /);
  });

  it('refuses duplicate keys rather than letting the last one win', () => {
    const errors = errorsOf(edit('        approvals: 1\n', '        approvals: 1\n        approvals: 0\n'));
    expect(errors).toEqual([expect.stringMatching(/^policy\.yaml:13:9: YAML syntax error: Map keys must be unique/)]);
  });
});
