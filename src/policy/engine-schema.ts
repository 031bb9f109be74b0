/**
 * The policy engine's role settings in the file (`justification`, `auto_approve`, `risk`) and their
 * translation into the domain's rules. All optional: a role without them behaves as before.
 */
import { z } from 'zod';
import { isTimeZone, minutesOf } from '../domain/business-hours.js';
import { DAY, SECOND } from '../domain/duration.js';
import {
  DEFAULT_BUSINESS_DAYS,
  WEEKDAYS,
  type AutoApproveRule,
  type BusinessHours,
  type JustificationRule,
  type RiskRule,
} from '../domain/policy.js';
import { interval, strict } from './parts.js';

const time = z.string().refine((t) => minutesOf(t) !== null, { error: 'must be a 24-hour time like 09:00 or 17:30' });

const timeZone = z.string().refine(isTimeZone, {
  error: (iss) => `${JSON.stringify(iss.input)} is not a time zone; use an IANA name like Europe/Paris, America/New_York or UTC`,
});

const weekday = z.enum(WEEKDAYS, { error: `must be a day: ${WEEKDAYS.join(', ')}` });

const businessHours = strict({
  days: z.array(weekday).min(1, { error: 'list at least one day (or leave days out for mon–fri)' }).optional(),
  start: time,
  end: time,
  tz: timeZone,
}).superRefine((h, ctx) => {
  const start = minutesOf(h.start);
  const end = minutesOf(h.end);
  if (start !== null && end !== null && end <= start) {
    ctx.addIssue({ code: 'custom', path: ['end'], message: `must be after start (${h.start}); hours that span midnight are not supported` });
  }
});

function count(what: string, min = 1) {
  return z
    .int({ error: (iss) => (iss.input === undefined ? undefined : `must be a whole number of ${what}`) })
    .min(min, { error: `must be at least ${min}` });
}

const regex = z.string().superRefine((pattern, ctx) => {
  if (pattern.trim() === '') ctx.addIssue({ code: 'custom', message: 'cannot be empty' });
  try {
    new RegExp(pattern);
  } catch (e) {
    const why = e instanceof Error ? (e.message.split(': ').at(-1) ?? e.message) : String(e);
    ctx.addIssue({ code: 'custom', message: `is not a valid regular expression (${why}); for example INC-\\d+ or ^[A-Z]+-\\d+` });
  }
});

export const justificationRule = (maxReason: number) =>
  strict({
    /** The reason, trimmed, has at least this many characters. */
    min_length: count('characters').max(maxReason, { error: `must be at most ${maxReason} (a reason cannot be longer)` }).optional(),
    /** A regular expression the reason must match somewhere: a ticket reference. */
    ticket_pattern: regex.optional(),
  });

export const autoApproveRule = strict({
  max_duration: interval(5 * SECOND, 30 * DAY).optional(),
  business_hours: businessHours.optional(),
  /** The rate brake: at most this many auto-approvals per person for the role in any 24 hours. */
  max_per_day: count('auto-approvals').optional(),
  /** Only requesters in one of these Slack user groups are auto-approved. */
  groups: z
    .array(
      z.string().regex(/^S[A-Z0-9]{2,}$/, {
        error: (iss) => `${JSON.stringify(iss.input)} is not a Slack user group id; ids look like S0123ABCD (the group's page → ⋮ → Copy group ID)`,
      }),
    )
    .min(1, { error: 'list at least one Slack user group id, or leave groups out' })
    .optional(),
});

export const riskRule = strict({
  high: z.boolean({ error: 'must be true or false' }).optional(),
  usual_duration: interval(5 * SECOND, 30 * DAY).optional(),
  business_hours: businessHours.optional(),
  burst: strict({ count: count('requests', 2), within: interval(SECOND, 30 * DAY) }).optional(),
  flagged_approvals: count('approvals').optional(),
});

type BusinessHoursFile = z.output<typeof businessHours>;

function toHours(h: BusinessHoursFile): BusinessHours {
  return { days: [...(h.days ?? DEFAULT_BUSINESS_DAYS)], start: h.start, end: h.end, tz: h.tz };
}

/** Keeps only the keys that are set, so a role's rules compare equal however they were written. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;
}

export function toJustification(j: z.output<ReturnType<typeof justificationRule>>): JustificationRule {
  return defined({ minLength: j.min_length, ticketPattern: j.ticket_pattern });
}

export function toAutoApprove(a: z.output<typeof autoApproveRule>): AutoApproveRule {
  return defined({
    maxDurationMs: a.max_duration ?? undefined,
    businessHours: a.business_hours ? toHours(a.business_hours) : undefined,
    maxPerDay: a.max_per_day,
    groups: a.groups ? [...a.groups] : undefined,
  });
}

export function toRisk(r: z.output<typeof riskRule>): RiskRule {
  return defined({
    high: r.high ?? false,
    usualDurationMs: r.usual_duration ?? undefined,
    businessHours: r.business_hours ? toHours(r.business_hours) : undefined,
    burst: r.burst ? { count: r.burst.count, withinMs: r.burst.within as number } : undefined,
    flaggedApprovals: r.flagged_approvals,
  });
}
