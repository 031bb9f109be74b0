/**
 * What a grant writes to IAM, derived from the request alone: the inline policy `jit-<requestId>`, its
 * statements tagged `Sid: Jit<hex of the template name>S<n>` and ending at the grant's end, and the reading of
 * those Sids back from a policy IAM returns.
 */
import { PermanentProviderError } from '../../use-cases/ports.js';

/** IAM's own pattern for user and role names; anything else AWS would refuse. */
export const IAM_NAME = /^[\w+=,.@-]{1,64}$/;
/** Policy names share the character set, up to 128 characters; `jit-` takes 4. */
export const REQUEST_ID = /^[\w+=,.@-]{1,124}$/;
const SID = /^Jit([0-9a-f]+)S\d+$/;

export type PrincipalType = 'user' | 'role';

/** One statement of an identity-based policy, as written in the settings (no Sid, no Principal). */
export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, ConditionValue | ConditionValue[]>>;
}

type ConditionValue = string | number | boolean;

export function policyName(requestId: string): string {
  return `jit-${requestId}`;
}

/** The end as IAM wants it (`2026-12-01T10:00:00Z`), rounded down to the second: never later than `expiresAt`. */
export function iamTime(expiresAt: Date): string {
  const ms = expiresAt.getTime();
  if (!Number.isFinite(ms)) throw new PermanentProviderError('the grant has no valid end time');
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The inline policy: every template's statements, tagged with their template and ending at `expiresAt`. */
export function policyDocument(templates: [string, readonly PolicyStatement[]][], expiresAt: Date): { Version: string; Statement: object[] } {
  const end = iamTime(expiresAt);
  return {
    Version: '2012-10-17',
    Statement: templates.flatMap(([name, statements]) =>
      statements.map((statement, i) => ({
        Sid: `Jit${Buffer.from(name, 'utf8').toString('hex')}S${i}`,
        ...statement,
        Condition: { ...statement.Condition, DateLessThan: { ...statement.Condition?.['DateLessThan'], 'aws:CurrentTime': end } },
      })),
    ),
  };
}

/** The template names a policy document holds, read from our Sids. IAM returns documents URL-encoded. */
export function templatesIn(raw: string): Set<string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.trimStart().startsWith('{') ? raw : decodeURIComponent(raw));
  } catch {
    throw new Error('the policy document IAM returned is not JSON');
  }
  const statement = (parsed as { Statement?: unknown } | null)?.Statement;
  const statements = Array.isArray(statement) ? statement : [statement];
  const names = new Set<string>();
  for (const s of statements) {
    const sid = (s as { Sid?: unknown } | null)?.Sid;
    const match = typeof sid === 'string' ? SID.exec(sid) : null;
    if (match?.[1]) names.add(Buffer.from(match[1], 'hex').toString('utf8'));
  }
  return names;
}
