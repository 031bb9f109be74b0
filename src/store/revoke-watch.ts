/**
 * PostgreSQL adapter of the revoke watchdog's port (`RevokeWatch` in `use-cases/watch-revokes.ts`): finds
 * grants whose revoke is not progressing and claims each for one alert (`stalled_alerted_at`), in any number
 * of processes at once. The claim and its audit entries are one transaction; `SKIP LOCKED` keeps two
 * processes' watchdogs, and the request's own transitions, from waiting on each other.
 */
import { and, inArray, isNotNull, isNull, lt, or, eq, sql } from 'drizzle-orm';
import type { Database } from './db.js';
import { toDomain } from './request-rows.js';
import { accessRequests, auditEvents, grants } from './schema.js';
import type { RevokeWatch, StallCutoffs } from '../use-cases/watch-revokes.js';
import type { AccessRequest } from '../domain/request.js';

export class PostgresRevokeWatch implements RevokeWatch {
  constructor(private readonly db: Database) {}

  async claimStalled(cutoffs: StallCutoffs, limit: number): Promise<AccessRequest[]> {
    return this.db.transaction(async (tx) => {
      const r = accessRequests;
      const stalled = await tx
        .select({ request: r, grant: grants })
        .from(r)
        .leftJoin(grants, eq(grants.requestId, r.id))
        .where(
          and(
            // A top-level status filter, so the planner reads only open grants (access_requests_status_idx),
            // not the table's whole history: this runs every minute in every process.
            inArray(r.status, ['active', 'revoking']),
            isNull(r.stalledAlertedAt),
            or(
              // The window ended and the revoke never started.
              and(eq(r.status, 'active'), isNotNull(grants.expiresAt), lt(grants.expiresAt, cutoffs.activeEndedBefore)),
              // Revoking, and nothing has happened to it (no attempt, failed or not) for too long.
              and(eq(r.status, 'revoking'), lt(r.updatedAt, cutoffs.revokingUnchangedSince)),
            ),
          ),
        )
        .limit(limit)
        .for('update', { of: r, skipLocked: true });
      if (stalled.length === 0) return [];
      const ids = stalled.map((s) => s.request.id);
      // updated_at is left alone: it dates the request's last transition, which the watchdog is not.
      await tx.update(r).set({ stalledAlertedAt: sql`now()` }).where(inArray(r.id, ids));
      await tx.insert(auditEvents).values(
        stalled.map((s) => ({
          requestId: s.request.id,
          action: 'revoke.stalled',
          actor: 'system',
          details: { status: s.request.status, expiresAt: s.grant?.expiresAt?.toISOString() ?? null },
        })),
      );
      return stalled.map((s) => toDomain(s.request, s.grant));
    });
  }

  async releaseStalled(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.update(accessRequests).set({ stalledAlertedAt: null }).where(inArray(accessRequests.id, ids));
  }
}
