/**
 * A stateful fake of the IAM Identity Center admin API (`sso-admin`) over nock, as the aws-sso provider
 * uses it. sso-admin speaks awsJson1_1: a JSON POST to `https://sso.<region>.amazonaws.com/` naming the
 * operation in `X-Amz-Target: SWBExternalService.<Operation>`, errors as
 * `{ "__type": "com.amazonaws.swbexternalservice#<Type>Exception", "Message": … }` (status 400).
 *
 * One instance (`instanceArn`; another is `ResourceNotFoundException`) and the accounts in `accounts`:
 * - `CreateAccountAssignment` / `DeleteAccountAssignment` take `{ InstanceArn, TargetId, TargetType:
 *   AWS_ACCOUNT, PermissionSetArn, PrincipalType: USER|GROUP, PrincipalId }` and answer at once with an
 *   `AccountAssignment{Creation|Deletion}Status` of `IN_PROGRESS` (`{ Status, RequestId, TargetId,
 *   TargetType, PermissionSetArn, PrincipalType, PrincipalId, CreatedDate }`); deleting an assignment that
 *   does not exist is `ResourceNotFoundException`.
 * - `DescribeAccountAssignment{Creation|Deletion}Status` by that RequestId reports `IN_PROGRESS` once, then
 *   applies the change and reports `SUCCEEDED`; creating for a user not in `directory` ends `FAILED` with
 *   the reason AWS gives ("the USER assignee … was not found in directory …").
 * - `ListAccountAssignments` takes `{ InstanceArn, AccountId, PermissionSetArn, MaxResults (1-100),
 *   NextToken }` and answers `{ AccountAssignments: [{ AccountId, PermissionSetArn, PrincipalType,
 *   PrincipalId }], NextToken? }` for that account and permission set only, `pageSize` at most a page (AWS
 *   may answer fewer than MaxResults), with an opaque NextToken.
 * User ids are case-insensitive and kept (and listed) in lower case, as Identity Center does. Every request
 * is recorded in `calls`, every list request in `lists`.
 *
 * Left out: permission sets themselves (any ARN is assignable; `DescribePermissionSet` and the other reads
 * of `check` are answered by its own test), provisioning of the permission set into the account, groups'
 * members, a create of an existing assignment (it succeeds here; AWS may report it FAILED, which the wire
 * tests pin), throttling and conflicts (the wire tests answer those one by one).
 */
import nock from 'nock';
import { JSON_HEADERS } from './aws-nock.js';

export const SSO_ENDPOINT = 'https://sso.us-east-1.amazonaws.com';
export const SSO_INSTANCE = 'arn:aws:sso:::instance/ssoins-1234567890abcdef';
export const SSO_ACCOUNT = '123456789012';

export const ssoError = (type: string, message: string) => ({ __type: `com.amazonaws.swbexternalservice#${type}`, Message: message });

export interface Assignment {
  AccountId: string;
  PermissionSetArn: string;
  PrincipalType: 'USER' | 'GROUP';
  PrincipalId: string;
}

export type OperationStatus = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';

/** An `AccountAssignment{Creation|Deletion}Status` as sso-admin answers it. */
export const operationStatus = (requestId: string, status: OperationStatus, a: Assignment, reason?: string) => ({
  Status: status,
  RequestId: requestId,
  ...(reason ? { FailureReason: reason } : {}),
  TargetId: a.AccountId,
  TargetType: 'AWS_ACCOUNT',
  PermissionSetArn: a.PermissionSetArn,
  PrincipalType: a.PrincipalType,
  PrincipalId: a.PrincipalId,
  CreatedDate: 1767225600.123,
});

/** The request fields the fake reads (awsJson1_1 bodies). */
interface Body {
  InstanceArn?: string;
  AccountId?: string;
  PermissionSetArn?: string;
  MaxResults?: number;
  NextToken?: string;
  TargetId?: string;
  TargetType?: string;
  PrincipalType?: string;
  PrincipalId?: string;
  AccountAssignmentCreationRequestId?: string;
  AccountAssignmentDeletionRequestId?: string;
}

export interface SsoCall {
  op: string;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

export interface FakeIdentityCenterOptions {
  instanceArn?: string;
  /** The accounts assignments may target (default: `SSO_ACCOUNT`). */
  accounts?: string[];
  /** Assignments per ListAccountAssignments answer (default 2). */
  pageSize?: number;
  /** The users of the identity store (ids). */
  directory?: string[];
}

export class FakeIdentityCenter {
  readonly instanceArn: string;
  readonly accounts: Set<string>;
  readonly pageSize: number;
  /** The users of the identity store, in lower case. */
  readonly directory = new Set<string>();
  readonly assignments: Assignment[] = [];
  readonly calls: SsoCall[] = [];
  readonly lists: { PermissionSetArn: string; AccountId: string; MaxResults: number; NextToken?: string }[] = [];
  readonly #ops = new Map<string, { create: boolean; a: Assignment; polled: boolean }>();
  #next = 0;

  constructor(options: FakeIdentityCenterOptions = {}) {
    this.instanceArn = options.instanceArn ?? SSO_INSTANCE;
    this.accounts = new Set(options.accounts ?? [SSO_ACCOUNT]);
    this.pageSize = options.pageSize ?? 2;
    for (const id of options.directory ?? []) this.directory.add(id.toLowerCase());
  }

  /** A persisting interceptor answering every sso-admin request from this fake. */
  intercept(endpoint = SSO_ENDPOINT): nock.Scope {
    const fake = this;
    return nock(endpoint)
      .persist()
      .post('/')
      .reply(function (_uri, body) {
        const op = String(this.req.headers['x-amz-target'] ?? '').replace('SWBExternalService.', '');
        const parsed = JSON.parse(typeof body === 'string' ? body : JSON.stringify(body)) as Record<string, unknown>;
        fake.calls.push({ op, body: parsed, headers: this.req.headers });
        const [status, reply] = fake.handle(op, parsed as Body);
        return [status, JSON.stringify(reply), JSON_HEADERS];
      });
  }

  /** A direct assignment of `ps` to the user `id` (who is then in the directory). */
  user(ps: string, id: string, account = SSO_ACCOUNT): this {
    this.directory.add(id.toLowerCase());
    this.assignments.push({ AccountId: account, PermissionSetArn: ps, PrincipalType: 'USER', PrincipalId: id.toLowerCase() });
    return this;
  }

  group(ps: string, id: string, account = SSO_ACCOUNT): this {
    this.assignments.push({ AccountId: account, PermissionSetArn: ps, PrincipalType: 'GROUP', PrincipalId: id });
    return this;
  }

  /** The USER assignments of `account`, as `<user id> <ps-…>`, sorted. */
  users(account = SSO_ACCOUNT): string[] {
    return this.assignments
      .filter((a) => a.AccountId === account && a.PrincipalType === 'USER')
      .map((a) => `${a.PrincipalId} ${a.PermissionSetArn.slice(-19)}`)
      .sort();
  }

  handle(op: string, b: Body): [number, object] {
    if (b.InstanceArn !== this.instanceArn) return [400, ssoError('ResourceNotFoundException', 'instance not found')];
    const same = (x: Assignment, y: Assignment) =>
      x.AccountId === y.AccountId && x.PermissionSetArn === y.PermissionSetArn && x.PrincipalType === y.PrincipalType && x.PrincipalId === y.PrincipalId;
    switch (op) {
      case 'ListAccountAssignments': {
        const max = b.MaxResults ?? 100;
        const account = b.AccountId ?? '';
        if (!/^\d{12}$/.test(account) || !b.PermissionSetArn || max < 1 || max > 100) return [400, ssoError('ValidationException', 'bad request')];
        this.lists.push({ PermissionSetArn: b.PermissionSetArn, AccountId: account, MaxResults: max, ...(b.NextToken ? { NextToken: b.NextToken } : {}) });
        const all = this.assignments.filter((a) => a.AccountId === account && a.PermissionSetArn === b.PermissionSetArn);
        const start = b.NextToken ? Number(Buffer.from(b.NextToken, 'base64').toString().replace('page-', '')) : 0;
        const size = Math.min(max, this.pageSize);
        const next = start + size < all.length ? { NextToken: Buffer.from(`page-${start + size}`).toString('base64') } : {};
        return [200, { AccountAssignments: all.slice(start, start + size), ...next }];
      }
      case 'CreateAccountAssignment':
      case 'DeleteAccountAssignment': {
        const type = b.PrincipalType;
        if (!this.accounts.has(b.TargetId ?? '') || b.TargetType !== 'AWS_ACCOUNT' || (type !== 'USER' && type !== 'GROUP') || !b.PermissionSetArn || !b.PrincipalId) {
          return [400, ssoError('ValidationException', 'bad tuple')];
        }
        const principal = type === 'USER' ? b.PrincipalId.toLowerCase() : b.PrincipalId;
        const a: Assignment = { AccountId: b.TargetId!, PermissionSetArn: b.PermissionSetArn, PrincipalType: type, PrincipalId: principal };
        const create = op === 'CreateAccountAssignment';
        if (!create && !this.assignments.some((x) => same(x, a))) return [400, ssoError('ResourceNotFoundException', 'The assignment does not exist')];
        const id = `op-${this.#next++}`;
        this.#ops.set(id, { create, a, polled: false });
        return [200, { [create ? 'AccountAssignmentCreationStatus' : 'AccountAssignmentDeletionStatus']: operationStatus(id, 'IN_PROGRESS', a) }];
      }
      case 'DescribeAccountAssignmentCreationStatus':
      case 'DescribeAccountAssignmentDeletionStatus': {
        const create = op === 'DescribeAccountAssignmentCreationStatus';
        const field = create ? 'AccountAssignmentCreationStatus' : 'AccountAssignmentDeletionStatus';
        const id = (create ? b.AccountAssignmentCreationRequestId : b.AccountAssignmentDeletionRequestId) ?? '';
        const pending = this.#ops.get(id);
        if (!pending || pending.create !== create) return [400, ssoError('ResourceNotFoundException', 'no such request')];
        if (!pending.polled) {
          pending.polled = true;
          return [200, { [field]: operationStatus(id, 'IN_PROGRESS', pending.a) }];
        }
        if (create && pending.a.PrincipalType === 'USER' && !this.directory.has(pending.a.PrincipalId)) {
          const reason = `Received a 404 status error: the USER assignee ${pending.a.PrincipalId} was not found in directory d-9067000000`;
          return [200, { [field]: operationStatus(id, 'FAILED', pending.a, reason) }];
        }
        const at = this.assignments.findIndex((x) => same(x, pending.a));
        if (create && at < 0) this.assignments.push(pending.a);
        if (!create && at >= 0) this.assignments.splice(at, 1);
        return [200, { [field]: operationStatus(id, 'SUCCEEDED', pending.a) }];
      }
      default:
        return [400, ssoError('ValidationException', `unexpected ${op}`)];
    }
  }
}
