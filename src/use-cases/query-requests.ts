/**
 * Read-only questions from chat: "what do I have and what is pending" (`/access list`), and a request's whole
 * story (`/access status <id>`). The story is shown to the requester, the role's approvers and admins only;
 * to anyone else the request does not exist, so ids cannot be probed.
 */
import { err, ok, type Result } from '../domain/errors.js';
import { canOversee } from '../domain/policy.js';
import { groupsOf } from './groups.js';
import type { AccessRequest, AuditEntry } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import type { RequestSnapshot } from './ports.js';

const LIST_LIMIT = 20;

export interface MyRequests {
  pending: AccessRequest[];
  active: AccessRequest[];
}

export async function listMyRequests(deps: Pick<UseCaseDeps, 'store'>, requesterId: string): Promise<MyRequests> {
  const [pending, active] = await Promise.all([
    deps.store.listForRequester(requesterId, ['pending', 'approved'], LIST_LIMIT),
    deps.store.listForRequester(requesterId, ['active', 'revoking'], LIST_LIMIT),
  ]);
  return { pending, active };
}

export interface RequestStory {
  snapshot: RequestSnapshot;
  trail: (AuditEntry & { at: Date })[];
}

export async function requestStory(
  deps: Pick<UseCaseDeps, 'store' | 'policy'> & Partial<Pick<UseCaseDeps, 'directory' | 'log'>>,
  input: { requestId: string; viewerId: string },
): Promise<Result<RequestStory>> {
  const snapshot = await deps.store.get(input.requestId);
  const policy = deps.policy.current();
  const oversees = async () => {
    const groups = deps.directory && deps.log ? await groupsOf({ directory: deps.directory, log: deps.log }, policy, input.viewerId) : [];
    return canOversee(policy, snapshot!.request, input.viewerId, groups);
  };
  const visible = snapshot && (snapshot.request.requesterId === input.viewerId || (await oversees()));
  if (!snapshot || !visible) return err({ code: 'NOT_FOUND', requestId: input.requestId });
  return ok({ snapshot, trail: await deps.store.auditTrail(input.requestId) });
}
