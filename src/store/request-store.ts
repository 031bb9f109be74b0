/**
 * The PostgreSQL adapter of `RequestStore`. Decisions and other transitions are serialised on the request
 * row (`SELECT … FOR UPDATE`) and saved with compare-and-swap on `version`, so double clicks, concurrent
 * clicks and replays produce exactly one outcome. The audit entry and the outbox notifications of a
 * transition are written in the same transaction as the state they describe.
 */
import { and, asc, desc, eq, gte, inArray, isNull, lt, ne, sql } from 'drizzle-orm';
import type { DomainError, Result } from '../domain/errors.js';
import type { AccessRequest, AuditEntry, Decision, Transition } from '../domain/request.js';
import type { HistoryEntry } from '../domain/risk.js';
import { notificationFor, type AccessOnRecord, type ApplyOutcome, type CardRef, type Notification, type RecentAuditEntry, type RequestSnapshot, type RequestStore } from '../use-cases/ports.js';
import type { Database } from './db.js';
import { SELECT_REQUEST, requestColumns, toDomain } from './request-rows.js';
import { accessRequests, auditEvents, chatMessages, decisions, grants, homeViews, notifications } from './schema.js';

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

/** The states whose grants the records still account for (`openGrantsOf`): in flight, in force, being taken back. */
const OPEN_STATUSES: AccessRequest['status'][] = ['approved', 'active', 'revoking'];
type Executor = Database | Tx;

async function writeRecords(tx: Tx, requestId: string, transition: Transition): Promise<string[]> {
  await tx.insert(auditEvents).values({ requestId, ...transition.audit });
  const payloads = transition.effects.map(notificationFor).filter((n): n is Notification => n !== null);
  if (payloads.length === 0) return [];
  const rows = await tx
    .insert(notifications)
    .values(payloads.map((payload) => ({ requestId, payload })))
    .returning({ id: notifications.id });
  return rows.map((r) => String(r.id));
}

async function loadSnapshot(ex: Executor, requestId: string, forUpdate: boolean): Promise<RequestSnapshot | null> {
  const base = ex.select(SELECT_REQUEST).from(accessRequests).leftJoin(grants, eq(grants.requestId, accessRequests.id)).where(eq(accessRequests.id, requestId));
  const [row] = forUpdate ? await base.for('update', { of: accessRequests }) : await base;
  if (!row) return null;
  const rows = await ex.select().from(decisions).where(eq(decisions.requestId, requestId)).orderBy(asc(decisions.id));
  const list: Decision[] = rows.map((d) => ({
    approverId: d.approverId,
    outcome: d.outcome as Decision['outcome'],
    reason: d.reason,
    at: d.decidedAt,
  }));
  return { request: toDomain(row.request, row.grant), decisions: list };
}

/** Carries a refused transition out of its transaction, so the transaction rolls back. */
class Refusal extends Error {
  constructor(readonly outcome: { ok: false; error: DomainError }) {
    super('refused');
  }
}

export class PostgresRequestStore implements RequestStore {
  constructor(private readonly db: Database) {}

  async create(transition: Transition): Promise<{ notificationIds: string[] }> {
    const r = transition.next;
    return this.db.transaction(async (tx) => {
      await tx.insert(accessRequests).values({ id: r.id, ...requestColumns(r) });
      return { notificationIds: await writeRecords(tx, r.id, transition) };
    });
  }

  get(requestId: string): Promise<RequestSnapshot | null> {
    return loadSnapshot(this.db, requestId, false);
  }

  async apply(requestId: string, decide: (snapshot: RequestSnapshot) => Result<Transition>): Promise<ApplyOutcome> {
    try {
      return await this.applyInTransaction(requestId, decide);
    } catch (error) {
      if (error instanceof Refusal) return error.outcome;
      throw error;
    }
  }

  private applyInTransaction(requestId: string, decide: (snapshot: RequestSnapshot) => Result<Transition>): Promise<ApplyOutcome> {
    return this.db.transaction(async (tx) => {
      const snapshot = await loadSnapshot(tx, requestId, true);
      if (!snapshot) return { ok: false, error: { code: 'NOT_FOUND', requestId } };
      const result = decide(snapshot);
      // A refusal rolls back instead of committing: nothing was written, and a rollback does not wait for
      // a disk flush while holding the row lock (50 racing clicks would otherwise queue flush after flush).
      if (!result.ok) throw new Refusal(result);
      return { ok: true, transition: result.value, notificationIds: await this.saveTransition(tx, snapshot, result.value) };
    });
  }

  async applyTogether(
    requestIds: string[],
    decide: (snapshots: RequestSnapshot[]) => Result<Transition[]>,
  ): Promise<{ ok: true; applied: { transition: Transition; notificationIds: string[] }[] } | { ok: false; error: DomainError }> {
    try {
      return await this.db.transaction(async (tx) => {
        // Locks in a fixed order, so two transactions over the same rows cannot deadlock.
        const locked = new Map<string, RequestSnapshot>();
        for (const id of [...requestIds].sort()) {
          const snapshot = await loadSnapshot(tx, id, true);
          if (!snapshot) return { ok: false as const, error: { code: 'NOT_FOUND' as const, requestId: id } };
          locked.set(id, snapshot);
        }
        const snapshots = requestIds.map((id) => locked.get(id) as RequestSnapshot);
        const result = decide(snapshots);
        if (!result.ok) throw new Refusal(result);
        const applied = [];
        for (const [i, transition] of result.value.entries()) {
          applied.push({ transition, notificationIds: await this.saveTransition(tx, snapshots[i] as RequestSnapshot, transition) });
        }
        return { ok: true as const, applied };
      });
    } catch (error) {
      if (error instanceof Refusal) return error.outcome;
      throw error;
    }
  }

  /** Saves one transition of a row locked by the caller: the state (compare-and-swap), its decision, window, audit and outbox. */
  private async saveTransition(tx: Tx, snapshot: RequestSnapshot, transition: Transition): Promise<string[]> {
    const requestId = snapshot.request.id;
    const { next } = transition;
    const saved = await tx
      .update(accessRequests)
      .set({ ...requestColumns(next), updatedAt: sql`now()` })
      .where(and(eq(accessRequests.id, requestId), eq(accessRequests.version, snapshot.request.version)))
      .returning({ id: accessRequests.id });
    // The row lock makes a lost race impossible here; the version check is the belt to its braces.
    if (saved.length !== 1) throw new Error(`compare-and-swap failed for ${requestId} at version ${snapshot.request.version}`);
    if (transition.decision) {
      const d = transition.decision;
      await tx.insert(decisions).values({ requestId, approverId: d.approverId, outcome: d.outcome, reason: d.reason, decidedAt: d.at });
    }
    await this.saveGrantWindow(tx, snapshot.request, next);
    return writeRecords(tx, requestId, transition);
  }

  private async saveGrantWindow(tx: Tx, before: AccessRequest, after: AccessRequest): Promise<void> {
    const changed =
      before.grantedAt !== after.grantedAt ||
      before.expiresAt !== after.expiresAt ||
      before.revokedAt !== after.revokedAt ||
      before.revokeReason !== after.revokeReason ||
      before.revokedBy !== after.revokedBy ||
      before.revokeNote !== after.revokeNote;
    if (!changed) return;
    await tx
      .insert(grants)
      .values({
        requestId: after.id,
        resource: after.resource,
        principal: after.principal,
        preExisting: [],
        grantedAt: after.grantedAt,
        expiresAt: after.expiresAt,
        revokedAt: after.revokedAt,
        revokeReason: after.revokeReason,
        revokedBy: after.revokedBy,
        revokeNote: after.revokeNote,
      })
      .onConflictDoUpdate({
        target: grants.requestId,
        set: {
          grantedAt: after.grantedAt,
          expiresAt: after.expiresAt,
          revokedAt: after.revokedAt,
          revokeReason: after.revokeReason,
          revokedBy: after.revokedBy,
          revokeNote: after.revokeNote,
        },
      });
  }

  async audit(entry: AuditEntry, requestId?: string): Promise<void> {
    await this.db.insert(auditEvents).values({ requestId: requestId ?? null, ...entry });
  }

  async recordPreExisting(requestId: string, held: string[]): Promise<string[]> {
    const snapshot = await this.get(requestId);
    if (!snapshot) throw new Error(`no request ${requestId}`);
    const { request } = snapshot;
    await this.db
      .insert(grants)
      .values({ requestId, resource: request.resource, principal: request.principal, preExisting: held })
      .onConflictDoNothing({ target: grants.requestId });
    const [row] = await this.db.select({ preExisting: grants.preExisting }).from(grants).where(eq(grants.requestId, requestId));
    return row?.preExisting ?? held;
  }

  async preExisting(requestId: string): Promise<string[]> {
    const [row] = await this.db.select({ preExisting: grants.preExisting }).from(grants).where(eq(grants.requestId, requestId));
    return row?.preExisting ?? [];
  }

  async withTargetLock<T>(resource: string, principal: string, work: () => Promise<T>): Promise<T> {
    // A transaction-scoped advisory lock on one pooled connection: released on commit, or when the
    // connection dies with its process, so a crashed worker never leaves the target locked.
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`target:${resource}:${principal}`}, 0))`);
      return work();
    });
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

  async recordHomeOpened(userId: string): Promise<void> {
    await this.db
      .insert(homeViews)
      .values({ userId, openedAt: sql`now()` })
      .onConflictDoUpdate({ target: homeViews.userId, set: { openedAt: sql`now()` } });
  }

  async homeViewers(userIds: string[]): Promise<string[]> {
    if (userIds.length === 0) return [];
    const rows = await this.db.select({ userId: homeViews.userId }).from(homeViews).where(inArray(homeViews.userId, userIds));
    return rows.map((r) => r.userId);
  }

  async listUndelivered(olderThan: Date, limit: number): Promise<string[]> {
    const rows = await this.db
      .select({ id: notifications.id })
      .from(notifications)
      .where(and(isNull(notifications.deliveredAt), lt(notifications.createdAt, olderThan)))
      .orderBy(asc(notifications.id))
      .limit(limit);
    return rows.map((r) => String(r.id));
  }

  async notification(id: string) {
    const [row] = await this.db.select().from(notifications).where(eq(notifications.id, Number(id)));
    if (!row) return null;
    return { requestId: row.requestId, notification: row.payload as Notification, deliveredAt: row.deliveredAt };
  }

  async markDelivered(id: string): Promise<boolean> {
    const rows = await this.db
      .update(notifications)
      .set({ deliveredAt: sql`now()`, attempts: sql`${notifications.attempts} + 1`, lastError: null })
      .where(and(eq(notifications.id, Number(id)), isNull(notifications.deliveredAt)))
      .returning({ id: notifications.id });
    return rows.length === 1;
  }

  async recordDeliveryFailure(id: string, error: string): Promise<void> {
    await this.db
      .update(notifications)
      .set({ attempts: sql`${notifications.attempts} + 1`, lastError: error })
      .where(eq(notifications.id, Number(id)));
  }

  async cards(requestId: string): Promise<CardRef[]> {
    const rows = await this.db.select().from(chatMessages).where(eq(chatMessages.requestId, requestId)).orderBy(asc(chatMessages.id));
    return rows.map((r) => ({ platform: r.platform as CardRef['platform'], channel: r.channel, messageId: r.messageId }));
  }

  async saveCard(requestId: string, card: CardRef): Promise<void> {
    await this.db
      .insert(chatMessages)
      .values({ requestId, platform: card.platform, channel: card.channel, messageId: card.messageId })
      .onConflictDoNothing();
  }
}
