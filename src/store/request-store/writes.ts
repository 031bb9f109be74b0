/** The writes of the PostgreSQL `RequestStore`, on top of its queries (reads.ts). */
import { and, eq, inArray, isNotNull, isNull, ne, sql } from 'drizzle-orm';
import type { DomainError, Result } from '../../domain/errors.js';
import type { AccessRequest, AuditEntry, Transition } from '../../domain/request.js';
import { notificationFor, type ApplyOutcome, type CardRef, type Notification, type RequesterDmRef, type RequestSnapshot, type RequestStore } from '../../use-cases/ports.js';
import { requestColumns } from '../request-rows.js';
import { accessRequests, auditEvents, chatMessages, decisions, grants, homeViews, notifications, requesterMessages } from '../schema.js';
import { RequestReads } from './reads.js';
import { loadSnapshot, type Tx } from './snapshot.js';

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

/** Carries a refused transition out of its transaction, so the transaction rolls back. */
class Refusal extends Error {
  constructor(readonly outcome: { ok: false; error: DomainError }) {
    super('refused');
  }
}

export class PostgresRequestStore extends RequestReads implements RequestStore {
  async create(transition: Transition): Promise<{ notificationIds: string[] }> {
    const r = transition.next;
    return this.db.transaction(async (tx) => {
      await tx.insert(accessRequests).values({ id: r.id, ...requestColumns(r) });
      return { notificationIds: await writeRecords(tx, r.id, transition) };
    });
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
      // A new state is a new chance to stall: an alert about the old one (the revoke watchdog's claim) is spent.
      .set({ ...requestColumns(next), updatedAt: sql`now()`, ...(next.status !== snapshot.request.status ? { stalledAlertedAt: null } : {}) })
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
    const window = {
      grantedAt: after.grantedAt,
      expiresAt: after.expiresAt,
      revokedAt: after.revokedAt,
      revokeReason: after.revokeReason,
      revokedBy: after.revokedBy,
      revokeNote: after.revokeNote,
    };
    if ((Object.keys(window) as (keyof typeof window)[]).every((k) => before[k] === after[k])) return;
    await tx
      .insert(grants)
      .values({ requestId: after.id, resource: after.resource, principal: after.principal, preExisting: [], ...window })
      .onConflictDoUpdate({ target: grants.requestId, set: window });
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

  async withTargetLock<T>(resource: string, principal: string, work: () => Promise<T>): Promise<T> {
    // A transaction-scoped advisory lock on one pooled connection: released on commit, or when the
    // connection dies with its process, so a crashed worker never leaves the target locked.
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`target:${resource}:${principal}`}, 0))`);
      return work();
    });
  }

  async recordHomeOpened(userId: string): Promise<void> {
    await this.db
      .insert(homeViews)
      .values({ userId, openedAt: sql`now()` })
      .onConflictDoUpdate({ target: homeViews.userId, set: { openedAt: sql`now()` } });
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

  async abandonDelivery(id: string, reason: string, audit: AuditEntry): Promise<{ abandoned: boolean; firstOfKind: boolean }> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .update(notifications)
        .set({ abandonedAt: sql`now()`, abandonReason: reason, attempts: sql`${notifications.attempts} + 1`, lastError: reason })
        .where(and(eq(notifications.id, Number(id)), isNull(notifications.deliveredAt), isNull(notifications.abandonedAt)))
        .returning({ requestId: notifications.requestId, payload: notifications.payload });
      if (!row) return { abandoned: false, firstOfKind: false };
      const kind = (row.payload as Notification).kind;
      // Serialises the check across the request's notifications of this kind: a second transaction waits here
      // until the first commits, then sees its row (READ COMMITTED reads afresh at each statement).
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`abandon:${row.requestId}:${kind}`}, 0))`);
      const earlier = await tx
        .select({ id: notifications.id })
        .from(notifications)
        .where(
          and(
            eq(notifications.requestId, row.requestId),
            isNotNull(notifications.abandonedAt),
            ne(notifications.id, Number(id)),
            sql`${notifications.payload}->>'kind' = ${kind}`,
          ),
        )
        .limit(1);
      await tx.insert(auditEvents).values({ requestId: row.requestId, ...audit });
      return { abandoned: true, firstOfKind: earlier.length === 0 };
    });
  }

  async reviveAbandoned(requestId: string, kinds: readonly Notification['kind'][], audit: AuditEntry): Promise<string[]> {
    if (kinds.length === 0) return [];
    return this.db.transaction(async (tx) => {
      const rows = await tx
        .update(notifications)
        .set({ abandonedAt: null, abandonReason: null })
        .where(
          and(
            eq(notifications.requestId, requestId),
            isNotNull(notifications.abandonedAt),
            isNull(notifications.deliveredAt),
            inArray(sql`${notifications.payload}->>'kind'`, [...kinds]),
          ),
        )
        .returning({ id: notifications.id });
      if (rows.length === 0) return [];
      const ids = rows.map((r) => r.id).sort((a, b) => a - b).map(String);
      await tx.insert(auditEvents).values({ requestId, ...audit, details: { ...audit.details, notificationIds: ids } });
      return ids;
    });
  }

  async saveCard(requestId: string, card: CardRef): Promise<void> {
    await this.db
      .insert(chatMessages)
      .values({ requestId, platform: card.platform, channel: card.channel, messageId: card.messageId })
      .onConflictDoNothing();
  }

  async saveRequesterDm(requestId: string, dm: RequesterDmRef): Promise<void> {
    await this.db
      .insert(requesterMessages)
      .values({
        requestId,
        platform: dm.platform,
        channel: dm.channel,
        messageId: dm.messageId,
        notice: dm.notice,
        shownExpiresAt: dm.shownExpiresAt,
        shownDurationSeconds: Math.round(dm.shownDurationMs / 1000),
        withLogin: dm.withLogin,
      })
      .onConflictDoNothing();
  }

  async markRequesterDmEnded(id: string): Promise<void> {
    await this.db
      .update(requesterMessages)
      .set({ endedAt: sql`now()` })
      .where(and(eq(requesterMessages.id, Number(id)), isNull(requesterMessages.endedAt)));
  }
}
