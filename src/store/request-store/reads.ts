/** The queries of the PostgreSQL `RequestStore`; `PostgresRequestStore` (writes.ts) adds the writes. */
import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, ne, sql } from 'drizzle-orm';
import type { AccessRequest, AuditEntry } from '../../domain/request.js';
import type { HistoryEntry } from '../../domain/risk.js';
import type { AccessOnRecord, CardRef, Notification, RecentAuditEntry, RequesterDmRef, RequestSnapshot } from '../../use-cases/ports.js';
import type { Database } from '../db.js';
import { SELECT_REQUEST, toDomain } from '../request-rows.js';
import { accessRequests, auditEvents, chatMessages, grants, homeViews, notifications, requesterMessages } from '../schema.js';
import { loadSnapshot } from './snapshot.js';

/** The states whose grants the records still account for (`openGrantsOf`): in flight, in force, being taken back. */
const OPEN_STATUSES: AccessRequest['status'][] = ['approved', 'active', 'revoking'];

export class RequestReads {
  constructor(protected readonly db: Database) {}

  get(requestId: string): Promise<RequestSnapshot | null> {
    return loadSnapshot(this.db, requestId, false);
  }

  async preExisting(requestId: string): Promise<string[]> {
    const [row] = await this.db.select({ preExisting: grants.preExisting }).from(grants).where(eq(grants.requestId, requestId));
    return row?.preExisting ?? [];
  }

  async coveredElsewhere(request: AccessRequest, scope: 'window' | 'until-revoked'): Promise<string[]> {
    const others = await this.db
      .select({ grants: accessRequests.grants, preExisting: grants.preExisting })
      .from(accessRequests)
      .innerJoin(grants, eq(grants.requestId, accessRequests.id))
      .where(
        and(
          eq(accessRequests.resource, request.resource),
          eq(accessRequests.principal, request.principal),
          inArray(accessRequests.status, ['active', 'revoking']),
          ne(accessRequests.id, request.id),
          scope === 'window' ? sql`${grants.expiresAt} > now()` : sql`true`,
        ),
      );
    // A grant the other request found already held is not its to cover: its revoke leaves it alone, so
    // counting it here would keep it out of this request's pre-existing list and let this revoke take it.
    const covered = new Set(others.flatMap((o) => o.grants.filter((g) => !o.preExisting.includes(g))));
    return request.grants.filter((g) => covered.has(g));
  }

  async openGrantsOf(resource: string): Promise<AccessOnRecord[]> {
    const rows = await this.db
      .select({ principal: accessRequests.principal, status: accessRequests.status, grants: accessRequests.grants, preExisting: grants.preExisting })
      .from(accessRequests)
      .leftJoin(grants, eq(grants.requestId, accessRequests.id))
      .where(
        and(
          eq(accessRequests.resource, resource),
          sql`(${inArray(accessRequests.status, OPEN_STATUSES)} OR ${grants.preExisting} <> '[]'::jsonb)`,
        ),
      );
    const byPrincipal = new Map<string, { grants: Set<string>; preExisting: Set<string> }>();
    for (const row of rows) {
      const entry = byPrincipal.get(row.principal) ?? { grants: new Set<string>(), preExisting: new Set<string>() };
      byPrincipal.set(row.principal, entry);
      if (OPEN_STATUSES.includes(row.status as AccessRequest['status'])) for (const g of row.grants) entry.grants.add(g);
      for (const g of row.preExisting ?? []) entry.preExisting.add(g);
    }
    return [...byPrincipal].map(([principal, e]) => ({ principal, grants: [...e.grants].sort(), preExisting: [...e.preExisting].sort() }));
  }

  async listByStatus(statuses: AccessRequest['status'][], limit: number): Promise<AccessRequest[]> {
    const rows = await this.db
      .select(SELECT_REQUEST)
      .from(accessRequests)
      .leftJoin(grants, eq(grants.requestId, accessRequests.id))
      .where(inArray(accessRequests.status, statuses))
      .orderBy(asc(grants.expiresAt), asc(accessRequests.createdAt))
      .limit(limit);
    return rows.map((r) => toDomain(r.request, r.grant));
  }

  async pageByStatus(statuses: AccessRequest['status'][], afterId: string | null, limit: number): Promise<AccessRequest[]> {
    const rows = await this.db
      .select(SELECT_REQUEST)
      .from(accessRequests)
      .leftJoin(grants, eq(grants.requestId, accessRequests.id))
      .where(and(inArray(accessRequests.status, statuses), afterId === null ? undefined : gt(accessRequests.id, afterId)))
      .orderBy(asc(accessRequests.id))
      .limit(limit);
    return rows.map((r) => toDomain(r.request, r.grant));
  }

  async pendingExtensionOf(requestId: string): Promise<AccessRequest | null> {
    const [row] = await this.db
      .select(SELECT_REQUEST)
      .from(accessRequests)
      .leftJoin(grants, eq(grants.requestId, accessRequests.id))
      .where(and(eq(accessRequests.extendsId, requestId), inArray(accessRequests.status, ['pending', 'approved'])))
      .limit(1);
    return row ? toDomain(row.request, row.grant) : null;
  }

  async recentRequestsOf(requesterId: string, since: Date): Promise<HistoryEntry[]> {
    const rows = await this.db
      .select({ resource: accessRequests.resource, role: accessRequests.role, createdAt: accessRequests.createdAt, rule: accessRequests.autoApprovedBy })
      .from(accessRequests)
      .where(and(eq(accessRequests.requesterId, requesterId), gte(accessRequests.createdAt, since), isNull(accessRequests.extendsId)))
      .orderBy(asc(accessRequests.createdAt));
    return rows.map(({ rule, ...r }) => ({ ...r, autoApproved: rule !== null }));
  }

  async listForRequester(requesterId: string, statuses: AccessRequest['status'][], limit: number): Promise<AccessRequest[]> {
    const rows = await this.db
      .select(SELECT_REQUEST)
      .from(accessRequests)
      .leftJoin(grants, eq(grants.requestId, accessRequests.id))
      .where(and(eq(accessRequests.requesterId, requesterId), inArray(accessRequests.status, statuses)))
      .orderBy(desc(accessRequests.createdAt))
      .limit(limit);
    return rows.map((r) => toDomain(r.request, r.grant));
  }

  async auditTrail(requestId: string): Promise<(AuditEntry & { at: Date })[]> {
    const rows = await this.db.select().from(auditEvents).where(eq(auditEvents.requestId, requestId)).orderBy(asc(auditEvents.id));
    return rows.map((r) => ({ at: r.at, action: r.action, actor: r.actor, details: r.details as Record<string, unknown> }));
  }

  async recentAudit(limit: number): Promise<RecentAuditEntry[]> {
    const rows = await this.db.select().from(auditEvents).orderBy(desc(auditEvents.id)).limit(limit);
    return rows.map((r) => ({ at: r.at, requestId: r.requestId, action: r.action, actor: r.actor, details: r.details as Record<string, unknown> }));
  }

  async homeViewers(userIds: string[]): Promise<string[]> {
    if (userIds.length === 0) return [];
    const rows = await this.db.select({ userId: homeViews.userId }).from(homeViews).where(inArray(homeViews.userId, userIds));
    return rows.map((r) => r.userId);
  }

  async listUndelivered(olderThan: Date, limit: number, afterId?: string): Promise<string[]> {
    const rows = await this.db
      .select({ id: notifications.id })
      .from(notifications)
      .where(
        and(
          isNull(notifications.deliveredAt),
          isNull(notifications.abandonedAt),
          lt(notifications.createdAt, olderThan),
          afterId === undefined ? undefined : gt(notifications.id, Number(afterId)),
        ),
      )
      .orderBy(asc(notifications.id))
      .limit(limit);
    return rows.map((r) => String(r.id));
  }

  async notification(id: string) {
    const [row] = await this.db.select().from(notifications).where(eq(notifications.id, Number(id)));
    if (!row) return null;
    return { requestId: row.requestId, notification: row.payload as Notification, deliveredAt: row.deliveredAt, abandonedAt: row.abandonedAt };
  }

  async cards(requestId: string): Promise<CardRef[]> {
    const rows = await this.db.select().from(chatMessages).where(eq(chatMessages.requestId, requestId)).orderBy(asc(chatMessages.id));
    return rows.map((r) => ({ platform: r.platform as CardRef['platform'], channel: r.channel, messageId: r.messageId }));
  }

  async openRequesterDms(requestId: string): Promise<(RequesterDmRef & { id: string })[]> {
    const rows = await this.db
      .select()
      .from(requesterMessages)
      .where(and(eq(requesterMessages.requestId, requestId), isNull(requesterMessages.endedAt)))
      .orderBy(asc(requesterMessages.id));
    return rows.map((r) => ({
      id: String(r.id),
      platform: r.platform as CardRef['platform'],
      channel: r.channel,
      messageId: r.messageId,
      notice: r.notice as RequesterDmRef['notice'],
      shownExpiresAt: r.shownExpiresAt,
      shownDurationMs: r.shownDurationSeconds * 1000,
      withLogin: r.withLogin,
    }));
  }
}
