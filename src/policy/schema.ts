/**
 * The policy file format (version 1) and its translation into the domain `Policy`.
 *
 * The file is written by people, so every message says what is wrong and what to write instead. Objects are
 * strict: in an access policy a misspelt key (`aprovers`) silently ignored would be a security bug.
 * Nothing here reads files or the environment; `load.ts` does that.
 */
import { z } from 'zod';
import { DAY, MINUTE, SECOND, parseDuration } from '../domain/duration.js';
import { DEFAULT_REMIND_AFTER_MS, DEFAULT_REQUEST_TTL_MS, DEFAULT_WARN_BEFORE_MS, type Members, type Policy, type RolePolicy } from '../domain/policy.js';
import { REASON_MAX_LENGTH } from '../domain/command.js';
import { autoApproveRule, justificationRule, riskRule, toAutoApprove, toJustification, toRisk } from './engine-schema.js';
import { interval, strict } from './parts.js';
import { PROVIDER_CATALOG } from '../providers/catalog.js';

export const SUPPORTED_VERSIONS = [1] as const;
export const PROVIDERS = PROVIDER_CATALOG.map((d) => d.name);
const RESOURCE_KEYS = ['provider', 'principal', 'roles'];

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;
const SLACK_CHANNEL_ID = /^[CG][A-Z0-9]{2,}$/;
const SLACK_GROUP_ID = /^S[A-Z0-9]{2,}$/;

const slackUserId = z.string().regex(SLACK_USER_ID, {
  error: (iss) => `${JSON.stringify(iss.input)} is not a Slack user id; ids look like U0123ABCD (profile → ⋮ → Copy member ID)`,
});

const slackChannelId = z.string().regex(SLACK_CHANNEL_ID, {
  error: (iss) =>
    `${JSON.stringify(iss.input)} is not a Slack channel id; ids look like C0123ABCD (channel details → About, at the bottom), not #names`,
});

function name(kind: 'resource' | 'role') {
  return z.string().regex(NAME, {
    error: (iss) =>
      `${JSON.stringify(iss.input)} is not a valid ${kind} name; use letters, digits, _ . - (starting with a letter or digit, at most 63 characters)`,
  });
}

const slackGroupId = z.string().regex(SLACK_GROUP_ID, {
  error: (iss) =>
    `${JSON.stringify(iss.input)} is not a Slack user group id; ids look like S0123ABCD (the group's page → ⋮ → Copy group ID), not @handles`,
});

/** Validated here so the error carries its path; `toPolicy` converts it. */
const duration = z.string().superRefine((text, ctx) => {
  const parsed = parseDuration(text);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.problem });
});

/**
 * Users and/or Slack user groups (`groups`, resolved with `usergroups.users.list` when someone acts); at least
 * one of the two lists is non-empty.
 */
const members = (what: string) =>
  strict({ users: z.array(slackUserId).optional(), groups: z.array(slackGroupId).optional() }).superRefine((m, ctx) => {
    if ((m.users?.length ?? 0) + (m.groups?.length ?? 0) === 0) {
      ctx.addIssue({ code: 'custom', path: [m.groups === undefined ? 'users' : 'groups'], message: `list at least one ${what} (users, or groups: Slack user group ids)` });
    }
  });

const role = strict({
  grants: z.array(z.string().min(1, { error: 'a grant cannot be empty' })).min(1, { error: 'list at least one grant' }),
  max_duration: duration,
  approvers: members('approver'),
  approvals: z
    .int({ error: (iss) => (iss.input === undefined ? undefined : 'must be a whole number of approvals (1 or more)') })
    .min(1, { error: 'must be at least 1' })
    .default(1),
  channel: slackChannelId,
  requesters: members('requester (or remove requesters to let everyone request)').optional(),
  /** The duration used when the request form leaves it empty; at most max_duration. */
  default_duration: interval(5 * SECOND, 30 * DAY).optional(),
  /** `dm_approvers: true`: each approver listed under `users` also gets the card by DM (groups are not expanded). */
  notify: strict({ dm_approvers: z.boolean({ error: 'must be true or false' }) }).optional(),
  /** The longest a grant may last with its extensions (default: max_duration, so no extension beyond it). */
  max_total_duration: interval(5 * SECOND, 30 * DAY).optional(),
  /** Still pending after `after`: the card also goes to `channel` and by DM to `users`, who may decide too. */
  escalation: strict({
    after: interval(SECOND, 30 * DAY),
    channel: slackChannelId.optional(),
    users: z.array(slackUserId).optional(),
  })
    .refine((e) => e.channel !== undefined || (e.users?.length ?? 0) > 0, { error: 'name a channel, users, or both to escalate to' })
    .optional(),
  /** How long a request may wait for a decision before it expires (default 24h). */
  request_ttl: interval(5 * SECOND, 30 * DAY).optional(),
  /** Remind the approvers once after this long; `off` for never (default 1h). */
  remind_after: interval(SECOND, 30 * DAY, true).optional(),
  /** How long the grant waits after the deciding approval, during which a deny still wins; `off` for none (default 5s). */
  approval_grace: interval(SECOND, 5 * MINUTE, true).optional(),
  /** Warn the requester this long before the window ends; `off` for never (default 5m). */
  warn_before: interval(SECOND, DAY, true).optional(),
  /** What the reason must hold (`min_length`, `ticket_pattern`). */
  justification: justificationRule(REASON_MAX_LENGTH).optional(),
  /** When no person needs to decide. */
  auto_approve: autoApproveRule.optional(),
  /** Which requests are flagged, and how many approvals a flagged one needs. */
  risk: riskRule.optional(),
  /** `/access break-glass` grants this role at once, without an approver; it must be acknowledged afterwards. */
  break_glass: z.boolean({ error: 'must be true or false' }).optional(),
}).superRefine((r, ctx) => {
  const max = parseDuration(r.max_duration);
  if (r.max_total_duration != null && max.ok && r.max_total_duration < max.ms) {
    ctx.addIssue({ code: 'custom', path: ['max_total_duration'], message: 'must be at least max_duration (it includes the first window)' });
  }
  if (r.default_duration != null && max.ok && r.default_duration > max.ms) {
    ctx.addIssue({ code: 'custom', path: ['default_duration'], message: `must be at most max_duration (${r.max_duration})` });
  }
  // N approvals means N distinct people; a duplicate in the list must not make an impossible rule look possible.
  // With user groups the number of distinct approvers depends on the groups' members when someone clicks, so it
  // cannot be checked here: only a users-only list is checked (a role whose groups are too small stays pending
  // until it expires, which the approvers see on the card).
  const usersOnly = (r.approvers.groups?.length ?? 0) === 0;
  const distinct = new Set(r.approvers.users ?? []).size;
  if (usersOnly && r.approvals > distinct) {
    ctx.addIssue({
      code: 'custom',
      path: ['approvals'],
      message: `${r.approvals} approvals are required but only ${distinct} distinct approver${distinct === 1 ? ' is' : 's are'} listed; add approvers or lower approvals`,
    });
  }
  const flagged = r.risk?.flagged_approvals;
  if (usersOnly && flagged !== undefined && flagged > distinct) {
    ctx.addIssue({
      code: 'custom',
      path: ['risk', 'flagged_approvals'],
      message: `${flagged} approvals are required for a flagged request but only ${distinct} distinct approver${distinct === 1 ? ' is' : 's are'} listed`,
    });
  }
  if (flagged !== undefined && flagged < r.approvals) {
    ctx.addIssue({
      code: 'custom',
      path: ['risk', 'flagged_approvals'],
      message: `must be at least approvals (${r.approvals}): a flagged request never needs fewer approvals than the role`,
    });
  }
});

const roles = z.record(name('role'), role).refine((r) => Object.keys(r).length > 0, { error: 'define at least one role' });
const principalSource = z.enum(['email-local-part', 'email'], {
  error: 'must be email-local-part (alice@example.com → alice) or email (the whole address)',
});

/** A resource: the common keys, plus its provider's own settings (each provider declares their schema). */
const resource = z.discriminatedUnion(
  'provider',
  PROVIDER_CATALOG.map((d) =>
    strict({ provider: z.literal(d.name), principal: principalSource.default('email-local-part'), roles, ...d.shape }),
  ) as unknown as [ReturnType<typeof strict>, ...ReturnType<typeof strict>[]],
  {
    error: (iss) =>
      iss.code === 'invalid_union' && (iss.input as { provider?: unknown } | undefined)?.provider !== undefined
        ? `unknown provider; supported: ${PROVIDERS.join(', ')}`
        : iss.input === undefined || typeof iss.input !== 'object'
          ? undefined
          : `required: provider (one of ${PROVIDERS.join(', ')})`,
  },
);

export const policyFileSchema = strict(
  {
    version: z.literal(SUPPORTED_VERSIONS, {
      error: (iss) =>
        iss.input === undefined
          ? `required; write "version: 1" at the top (supported versions: ${SUPPORTED_VERSIONS.join(', ')})`
          : `unsupported version ${JSON.stringify(iss.input)}; supported versions: ${SUPPORTED_VERSIONS.join(', ')}`,
    }),
    admins: z.array(slackUserId).default([]),
    principals: z.record(slackUserId, z.string().trim().min(1, { error: 'a principal name cannot be empty' })).default({}),
    resources: z.record(name('resource'), resource),
  },
  'the policy file must be a YAML mapping starting with "version: 1"',
);

/** A validated policy file, defaults filled in, still in the file's own vocabulary (`max_duration: 4h`). */
export type PolicyFile = z.output<typeof policyFileSchema>;

/** Translates a validated file into the domain's vocabulary. Throws only if given a file that skipped validation. */
export function toPolicy(file: PolicyFile): Policy {
  return {
    version: file.version,
    admins: [...file.admins],
    principals: { ...file.principals },
    resources: Object.fromEntries(
      Object.entries(file.resources).map(([resourceName, res]) => {
        const r = res as ResourceFile;
        const settings = Object.fromEntries(Object.entries(r).filter(([k]) => !RESOURCE_KEYS.includes(k)));
        return [
          resourceName,
          {
            provider: r.provider,
            settings,
            principal: r.principal,
            roles: Object.fromEntries(Object.entries(r.roles).map(([roleName, x]) => [roleName, toRolePolicy(x)])),
          },
        ];
      }),
    ),
  };
}

interface ResourceFile {
  provider: string;
  principal: 'email-local-part' | 'email';
  roles: Record<string, RoleFile>;
  [setting: string]: unknown;
}

type RoleFile = z.output<typeof role>;

/** `groups` only when the file names some, so a users-only role compares equal to what it was before groups. */
function toMembers(m: { users?: string[] | undefined; groups?: string[] | undefined }): Members {
  return { users: [...(m.users ?? [])], ...(m.groups && m.groups.length > 0 ? { groups: [...m.groups] } : {}) };
}

function toRolePolicy(r: RoleFile): RolePolicy {
  const parsed = parseDuration(r.max_duration);
  if (!parsed.ok) throw new Error(`policy file was not validated: ${parsed.problem}`);
  return {
    grants: [...r.grants],
    maxDurationMs: parsed.ms,
    ...(r.default_duration != null ? { defaultDurationMs: r.default_duration } : {}),
    approvers: toMembers(r.approvers),
    approvals: r.approvals,
    channel: r.channel,
    ...(r.requesters ? { requesters: toMembers(r.requesters) } : {}),
    ...(r.notify ? { notify: { dmApprovers: r.notify.dm_approvers } } : {}),
    maxTotalMs: r.max_total_duration ?? undefined,
    ...(r.escalation
      ? { escalation: { afterMs: r.escalation.after as number, channel: r.escalation.channel, users: [...(r.escalation.users ?? [])] } }
      : {}),
    requestTtlMs: r.request_ttl ?? DEFAULT_REQUEST_TTL_MS,
    remindAfterMs: r.remind_after === undefined ? DEFAULT_REMIND_AFTER_MS : r.remind_after,
    ...(r.approval_grace !== undefined ? { approvalGraceMs: r.approval_grace ?? 0 } : {}),
    warnBeforeMs: r.warn_before === undefined ? DEFAULT_WARN_BEFORE_MS : (r.warn_before ?? 0),
    ...(r.justification ? { justification: toJustification(r.justification) } : {}),
    ...(r.auto_approve ? { autoApprove: toAutoApprove(r.auto_approve) } : {}),
    ...(r.risk ? { risk: toRisk(r.risk) } : {}),
    ...(r.break_glass ? { breakGlass: true } : {}),
  };
}

/** File text already parsed from YAML → domain `Policy`, in one step. */
export const policySchema = policyFileSchema.transform(toPolicy);
