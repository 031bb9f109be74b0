/**
 * A stateful fake of AWS IAM (Query protocol, API version 2010-05-08) over nock, as the two IAM providers
 * use it: form-encoded POSTs to `https://iam.amazonaws.com/`, XML answers, errors as `<ErrorResponse>`.
 * One fake serves one kind of principal (`User` or `Role`, as `principal_type` does) and keeps:
 * - inline policies (`Put/Get/Delete{User|Role}Policy`): principal → policy name → JSON text; Get returns
 *   the document URL-encoded, as IAM does; a document that is not JSON is `MalformedPolicyDocument`;
 * - managed attachments (`Attach/Detach{User|Role}Policy`, `ListAttached{User|Role}Policies`) of the
 *   policies in `policies` (an ARN not there is `NoSuchEntity`, "does not exist or is not attachable");
 * - group memberships of users (`AddUserToGroup`, `RemoveUserFromGroup`, `ListGroupsForUser`) of the groups
 *   in `groups`.
 * A principal not in `principals` is `NoSuchEntity` (404); deleting, detaching or leaving what is not there
 * is `NoSuchEntity` too. Lists hold one item a page (`IsTruncated`/`Marker`), so a reader must follow Marker.
 * The operations of the other kind of principal, and any other action or API version, are `InvalidAction`.
 * Every request is recorded in `calls`.
 *
 * Left out: quotas (`LimitExceeded`), policy size and grammar beyond "is JSON", paths, managed policy
 * versions, eventual consistency, and every read the `check`s make (their tests answer those one by one).
 */
import nock from 'nock';
import { capture, errorXml, esc, IAM_ENDPOINT, okXml, XML_HEADERS as xml, type Captured, type XmlReply } from './aws-nock.js';

export class FakeIam {
  readonly principals = new Set<string>();
  /** Inline policies: principal → policy name → document (JSON text). */
  readonly inline = new Map<string, Map<string, string>>();
  /** Managed policies that exist and may be attached. */
  readonly policies: Set<string>;
  readonly groups: Set<string>;
  /** Managed attachments: principal → policy ARNs. */
  readonly attached = new Map<string, Set<string>>();
  /** Group memberships: user → group names. */
  readonly members = new Map<string, Set<string>>();
  readonly calls: Captured[] = [];

  constructor(
    readonly kind: 'User' | 'Role',
    existing: { policies?: string[]; groups?: string[] } = {},
  ) {
    this.policies = new Set(existing.policies ?? []);
    this.groups = new Set(existing.groups ?? []);
  }

  /** A persisting interceptor answering every IAM request from this fake. */
  intercept(): nock.Scope {
    const fake = this;
    return nock(IAM_ENDPOINT)
      .persist()
      .post('/')
      .reply(function (_uri, body) {
        const call = capture(body, this.req.headers);
        fake.calls.push(call);
        return fake.handle(call.params);
      });
  }

  handle(p: Record<string, string>): XmlReply {
    const action = p['Action'] ?? '';
    if (p['Version'] !== '2010-05-08') return [400, errorXml('InvalidAction', 'bad version'), xml];
    const principal = p[`${this.kind}Name`] ?? '';
    const what = this.kind.toLowerCase();
    const noPrincipal: XmlReply = [404, errorXml('NoSuchEntity', `The ${what} with name ${principal} cannot be found.`), xml];
    const of = <T>(map: Map<string, T>, empty: () => T): T => {
      const mine = map.get(principal) ?? empty();
      map.set(principal, mine);
      return mine;
    };
    switch (action) {
      case `Put${this.kind}Policy`:
      case `Get${this.kind}Policy`:
      case `Delete${this.kind}Policy`: {
        if (!this.principals.has(principal)) return noPrincipal;
        const name = p['PolicyName'] ?? '';
        const mine = of(this.inline, () => new Map<string, string>());
        const missing: XmlReply = [404, errorXml('NoSuchEntity', `The ${what} policy with name ${name} cannot be found.`), xml];
        if (action.startsWith('Put')) {
          try {
            JSON.parse(p['PolicyDocument'] ?? '');
          } catch {
            return [400, errorXml('MalformedPolicyDocument', 'Syntax errors in policy.'), xml];
          }
          mine.set(name, p['PolicyDocument'] ?? '');
          return [200, okXml(action), xml];
        }
        if (action.startsWith('Get')) {
          const doc = mine.get(name);
          if (doc === undefined) return missing;
          const result = `<${action}Result><${this.kind}Name>${esc(principal)}</${this.kind}Name><PolicyName>${esc(name)}</PolicyName><PolicyDocument>${encodeURIComponent(doc)}</PolicyDocument></${action}Result>`;
          return [200, okXml(action, result), xml];
        }
        if (!mine.delete(name)) return missing;
        return [200, okXml(action), xml];
      }
      case `Attach${this.kind}Policy`:
      case `Detach${this.kind}Policy`: {
        const arn = p['PolicyArn'] ?? '';
        if (!this.principals.has(principal)) return noPrincipal;
        if (!this.policies.has(arn)) return [404, errorXml('NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`), xml];
        const mine = of(this.attached, () => new Set<string>());
        if (action.startsWith('Attach')) mine.add(arn);
        else if (!mine.delete(arn)) return [404, errorXml('NoSuchEntity', `Policy ${arn} was not found.`), xml];
        return [200, okXml(action), xml];
      }
      case `ListAttached${this.kind}Policies`: {
        if (!this.principals.has(principal)) return noPrincipal;
        const page = this.page([...of(this.attached, () => new Set<string>())], p['Marker']);
        const items = page.items.map((arn) => `<member><PolicyName>${esc(arn.split('/').pop() ?? '')}</PolicyName><PolicyArn>${esc(arn)}</PolicyArn></member>`);
        return [200, okXml(action, `<${action}Result><AttachedPolicies>${items.join('')}</AttachedPolicies>${page.tail}</${action}Result>`), xml];
      }
      case 'AddUserToGroup':
      case 'RemoveUserFromGroup': {
        if (this.kind !== 'User') break;
        const group = p['GroupName'] ?? '';
        if (!this.principals.has(principal)) return noPrincipal;
        if (!this.groups.has(group)) return [404, errorXml('NoSuchEntity', `The group with name ${group} cannot be found.`), xml];
        const mine = of(this.members, () => new Set<string>());
        if (action === 'AddUserToGroup') mine.add(group);
        else if (!mine.delete(group)) return [404, errorXml('NoSuchEntity', `User ${principal} is not in group ${group}.`), xml];
        return [200, okXml(action), xml];
      }
      case 'ListGroupsForUser': {
        if (this.kind !== 'User') break;
        if (!this.principals.has(principal)) return noPrincipal;
        const page = this.page([...of(this.members, () => new Set<string>())], p['Marker']);
        const items = page.items.map(
          (g) =>
            `<member><Path>/</Path><GroupName>${esc(g)}</GroupName><GroupId>AGPAEXAMPLE${g.length}</GroupId><Arn>arn:aws:iam::123456789012:group/${esc(g)}</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate></member>`,
        );
        return [200, okXml(action, `<ListGroupsForUserResult><Groups>${items.join('')}</Groups>${page.tail}</ListGroupsForUserResult>`), xml];
      }
    }
    return [400, errorXml('InvalidAction', `unexpected ${action}`), xml];
  }

  /** One item per page, so a reader must follow Marker to see everything. */
  page(all: string[], marker: string | undefined): { items: string[]; tail: string } {
    const at = marker === undefined ? 0 : Number(marker.replace('m', ''));
    const more = at + 1 < all.length;
    return { items: all.slice(at, at + 1), tail: more ? `<IsTruncated>true</IsTruncated><Marker>m${at + 1}</Marker>` : '<IsTruncated>false</IsTruncated>' };
  }
}
