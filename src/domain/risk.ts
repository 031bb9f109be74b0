/**
 * Risk flags: what about a request should catch an approver's eye. Computed for every request of a role that
 * has a `risk` block; each flag carries a reason a person can read. A flagged request is never auto-approved,
 * and needs `flagged_approvals` approvals when the role sets it. Pure: `now` and the history are given.
 */
import { describeHours, localTime, withinBusinessHours } from './business-hours.js';
import { DAY, formatDuration } from './duration.js';
import type { RiskRule } from './policy.js';

export type RiskCode = 'outside-business-hours' | 'long-duration' | 'first-request' | 'burst' | 'high-risk-role';

export interface RiskFlag {
  code: RiskCode;
  reason: string;
}

/** One of the requester's earlier requests, as much as the policy engine needs. */
export interface HistoryEntry {
  resource: string;
  role: string;
  createdAt: Date;
  autoApproved: boolean;
}

/** How far back the history goes: "first request" means the first in this long. */
export const HISTORY_LOOKBACK_MS = 90 * DAY;

export interface RiskSubject {
  resource: string;
  role: string;
  durationMs: number;
}

/** The flags a request raises, in a fixed order; none when the role has no `risk` block. */
export function riskFlags(risk: RiskRule | undefined, request: RiskSubject, history: readonly HistoryEntry[], now: Date): RiskFlag[] {
  if (!risk) return [];
  const past = history.filter((h) => h.createdAt <= now && now.getTime() - h.createdAt.getTime() <= HISTORY_LOOKBACK_MS);
  const flags: RiskFlag[] = [];
  if (risk.businessHours && !withinBusinessHours(risk.businessHours, now)) {
    const local = localTime(now, risk.businessHours.tz);
    flags.push({
      code: 'outside-business-hours',
      reason: `requested ${local.label} ${risk.businessHours.tz}, outside business hours (${describeHours(risk.businessHours)})`,
    });
  }
  if (risk.usualDurationMs !== undefined && request.durationMs > risk.usualDurationMs) {
    flags.push({
      code: 'long-duration',
      reason: `asks for ${formatDuration(request.durationMs)}, longer than the usual ${formatDuration(risk.usualDurationMs)}`,
    });
  }
  if (!past.some((h) => h.resource === request.resource)) {
    flags.push({ code: 'first-request', reason: `the first request for ${request.resource} by this person in ${HISTORY_LOOKBACK_MS / DAY} days` });
  }
  if (risk.burst) {
    const since = now.getTime() - risk.burst.withinMs;
    // This request counts too: the third request in the window is the one that makes a burst of three.
    const recent = past.filter((h) => h.createdAt.getTime() > since).length + 1;
    if (recent >= risk.burst.count) {
      flags.push({ code: 'burst', reason: `${recent} requests by this person within ${formatDuration(risk.burst.withinMs)} (this one included)` });
    }
  }
  if (risk.high) flags.push({ code: 'high-risk-role', reason: `${request.resource} / ${request.role} is marked high-risk in the policy` });
  return flags;
}
