/**
 * The bindings of one grant, derived from the request: the IAM member of the principal, the condition titled
 * `jit-<requestId>` that ends at `expiresAt`, and the edits grant and revoke make to a policy's binding list.
 */
import type { cloudresourcemanager_v3 } from '@googleapis/cloudresourcemanager';
import { PermanentProviderError, type GrantTarget } from '../../use-cases/ports.js';

export type Binding = cloudresourcemanager_v3.Schema$Binding;
type Condition = cloudresourcemanager_v3.Schema$Expr;

export const MEMBER_PREFIX = /^(user|group|serviceAccount):/;

/** The IAM member for a principal: `user:` unless it names its kind already. */
export function memberOf(principal: string): string {
  const trimmed = principal.trim();
  if (trimmed === '') throw new PermanentProviderError('empty principal: expected an email address or an IAM member');
  return MEMBER_PREFIX.test(trimmed) ? trimmed : `user:${trimmed}`;
}

export function titleOf(requestId: string): string {
  return `jit-${requestId}`;
}

/** The condition of this grant's bindings. `expiresAt` is a Date, so the expression holds nothing user-typed. */
export function conditionOf(target: GrantTarget): Required<Pick<Condition, 'title' | 'description' | 'expression'>> & Condition {
  return {
    title: titleOf(target.requestId),
    description: `accessbot ${target.requestId}`,
    expression: `request.time < timestamp("${target.expiresAt.toISOString()}")`,
  };
}

export function sameCondition(a: Condition | undefined, b: Condition): boolean {
  return a !== undefined && a.title === b.title && a.expression === b.expression && (a.description ?? '') === (b.description ?? '');
}

/** IAM compares email addresses without regard to case; so do we. */
export function hasMember(binding: Binding, member: string): boolean {
  const wanted = member.toLowerCase();
  return (binding.members ?? []).some((m) => m.toLowerCase() === wanted);
}

/** The bindings with `member` taken out of those matching `match`; a binding left without members is dropped. */
export function withoutMember(bindings: Binding[], member: string, match: (b: Binding) => boolean): Binding[] {
  const wanted = member.toLowerCase();
  return bindings.flatMap((b) => {
    if (!match(b)) return [b];
    const members = (b.members ?? []).filter((m) => m.toLowerCase() !== wanted);
    return members.length > 0 ? [{ ...b, members }] : [];
  });
}

export function unique(values: string[]): string[] {
  return [...new Set(values)];
}

export function quoteList(names: string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}
