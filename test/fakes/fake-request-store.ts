/**
 * Fakes `RequestStore` in memory, faithful to `PostgresRequestStore`:
 * - `apply` reads, decides and writes with no await in between (the row lock), checks the version it read
 *   (compare-and-swap) and that the transition bumps it; a refused or throwing decision writes nothing.
 * - A transition's audit entry, decision and outbox notifications are written together with its state.
 *   Notification ids are the decimal strings of a sequence, like the `bigserial` they stand for.
 * - A second decision by the same approver is refused like the unique index refuses it (a throw).
 * - `recordPreExisting`: first write wins; activation creates the grant row with nothing pre-existing.
 * - `coveredElsewhere`: what other `active`/`revoking` requests of the same resource and principal added
 *   (their grants minus what they found pre-existing); with scope `window` only those whose window ends
 *   after now.
 * - `openGrantsOf`: per principal of the resource, the grants of its `approved`/`active`/`revoking` requests
 *   and everything any of its requests recorded as pre-existing.
 * - `withTargetLock` is a real mutex per resource and principal (waiters queue, not re-entrant).
 * - Durations are kept in whole seconds (`duration_seconds`), timestamps come from the injected clock where
 *   PostgreSQL would use `now()`.
 * - `abandonDelivery` gives a row up once (never a delivered one), appends its audit entry, and answers
 *   `firstOfKind` when no other row of the same request and kind was given up before; `listUndelivered` and
 *   `undeliveredIds` leave given-up rows out; `reviveAbandoned` makes the given-up rows of the kinds asked owed
 *   again (never a delivered one) and audits their ids, or writes nothing when there are none.
 * - Every read returns a copy, so a use case cannot change stored state without saving it.
 * Test hooks: `failNext(method)` makes the next call(s) throw before touching anything (a lost connection,
 * a crash between two steps); `commitThenFail(method)` makes the next write(s) of `create` or `apply` save
 * everything and then throw (an ambiguous commit: PostgreSQL committed, the reply was lost); the inspectors at the bottom show what a user or an auditor would see.
 * Left out on purpose: transaction isolation (nothing awaits inside a transaction, so none is needed), the
 * lock surviving or dying with a process, the append-only trigger on audit rows, and their hash chain.
 */
import type { DomainError, Result } from '../../src/domain/errors.js';
import type { AccessRequest, AuditEntry, Decision, Effect, Transition } from '../../src/domain/request.js';
import type { HistoryEntry } from '../../src/domain/risk.js';
import { notificationFor, type ApplyOutcome, type CardRef, type Notification, type RequestSnapshot, type RequestStore } from '../../src/use-cases/ports.js';
import type { AccessOnRecord, Clock, RecentAuditEntry, RequesterDmRef } from '../../src/use-cases/ports.js';

export interface StoredAudit {
  id: number;
  at: Date;
  requestId: string | null;
  action: string;
  actor: string;
  details: Record<string, unknown>;
}

export interface StoredNotification {
  id: string;
  requestId: string;
  notification: Notification;
  createdAt: Date;
  deliveredAt: Date | null;
  attempts: number;
  lastError: string | null;
  /** Given up for good (`abandonDelivery`), and why (the chat platform's code). */
  abandonedAt: Date | null;
  abandonReason: string | null;
}

interface GrantRow {
  preExisting: string[];
}

type Method = keyof RequestStore;

const clone = <T>(value: T): T => structuredClone(value);


/** What a row of `access_requests` keeps: whole seconds of duration. */
function asStored(request: AccessRequest): AccessRequest {
  return { ...clone(request), durationMs: Math.round(request.durationMs / 1000) * 1000 };
}

export class FakeRequestStore implements RequestStore {
  readonly #requests = new Map<string, AccessRequest>();
  readonly #decisions = new Map<string, Decision[]>();
  readonly #grants = new Map<string, GrantRow>();
  readonly #outbox = new Map<string, StoredNotification>();
  readonly #audit: StoredAudit[] = [];
  /** Who opened the App Home, and when last. */
  readonly #homeViews = new Map<string, Date>();
  readonly #cards: { requestId: string; card: CardRef }[] = [];
  /** The requester DMs offering actions, with their row id and whether their actions were taken off. */
  readonly #requesterDms: { id: string; requestId: string; dm: RequesterDmRef; ended: boolean }[] = [];
  readonly #failures = new Map<Method, { remaining: number; error: () => Error }>();
  readonly #failuresAfterCommit = new Map<Method, { remaining: number; error: () => Error }>();
  readonly #locks = new Map<string, Promise<void>>();
  /** Every target lock taken, in order (`["resource","principal"]`). */
  readonly lockAcquisitions: string[] = [];
  #nextNotification = 1;

  constructor(private readonly clock: Clock) {}

  /** The next `times` calls of `method` throw before reading or writing anything. */
  failNext(method: Method, times = 1, error: () => Error = () => new Error('Connection terminated unexpectedly')): void {
    this.#failures.set(method, { remaining: times, error });
  }

  /**
   * The next `times` writes of `method` are saved (state, decision, audit, outbox), then throw, by default
   * with the driver's connection-loss code: PostgreSQL committed, the client never heard it. A refused
   * `apply` writes nothing and is not affected.
   */
  commitThenFail(method: 'create' | 'apply', times = 1, error: () => Error = () => Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' })): void {
    this.#failuresAfterCommit.set(method, { remaining: times, error });
  }

  async create(transition: Transition): Promise<{ notificationIds: string[] }> {
    this.#maybeFail('create');
    const r = transition.next;
    if (this.#requests.has(r.id)) throw new Error(`duplicate key value violates unique constraint "access_requests_pkey" (${r.id})`);
    this.#requests.set(r.id, asStored(r));
    this.#decisions.set(r.id, []);
    const notificationIds = this.#writeRecords(r.id, transition);
    this.#maybeFailAfterCommit('create');
    return { notificationIds };
  }

  async get(requestId: string): Promise<RequestSnapshot | null> {
    this.#maybeFail('get');
    return this.#snapshot(requestId);
  }

  async apply(requestId: string, decide: (snapshot: RequestSnapshot) => Result<Transition>): Promise<ApplyOutcome> {
    this.#maybeFail('apply');
    const snapshot = this.#snapshot(requestId);
    if (!snapshot) return { ok: false, error: { code: 'NOT_FOUND', requestId } };
    const result = decide(snapshot);
    if (!result.ok) return result;
    const transition = result.value;
    const { next } = transition;
    const current = this.#requests.get(requestId);
    // No await since the read, so this cannot fail here; it states the contract the SQL enforces.
    if (!current || current.version !== snapshot.request.version) {
      throw new Error(`compare-and-swap failed for ${requestId} at version ${snapshot.request.version}`);
    }
    if (next.id !== requestId) throw new Error(`transition for ${next.id} applied to ${requestId}`);
    if (next.version <= current.version) throw new Error(`transition of ${requestId} does not bump the version (${next.version})`);
    const decisions = this.#decisions.get(requestId) ?? [];
    if (transition.decision) {
      const d = transition.decision;
      if (decisions.some((x) => x.approverId === d.approverId)) {
        throw new Error('duplicate key value violates unique constraint "decisions_request_approver_uq"');
      }
    }
    // Everything below is the commit: nothing above has written.
    this.#requests.set(requestId, asStored(next));
    if (transition.decision) decisions.push(clone(transition.decision));
    this.#decisions.set(requestId, decisions);
    const windowChanged =
      current.grantedAt?.getTime() !== next.grantedAt?.getTime() ||
      current.expiresAt?.getTime() !== next.expiresAt?.getTime() ||
      current.revokedAt?.getTime() !== next.revokedAt?.getTime() ||
      current.revokeReason !== next.revokeReason;
    if (windowChanged && !this.#grants.has(requestId)) this.#grants.set(requestId, { preExisting: [] });
    const notificationIds = this.#writeRecords(requestId, transition);
    this.#maybeFailAfterCommit('apply');
    return { ok: true, transition, notificationIds };
  }

  async applyTogether(
    requestIds: string[],
    decide: (snapshots: RequestSnapshot[]) => Result<Transition[]>,
  ): Promise<{ ok: true; applied: { transition: Transition; notificationIds: string[] }[] } | { ok: false; error: DomainError }> {
    this.#maybeFail('applyTogether');
    const snapshots = requestIds.map((id) => this.#snapshot(id));
    const missing = requestIds.find((_, i) => !snapshots[i]);
    if (missing) return { ok: false, error: { code: 'NOT_FOUND', requestId: missing } };
    const result = decide(snapshots as RequestSnapshot[]);
    if (!result.ok) return result;
    const applied: { transition: Transition; notificationIds: string[] }[] = [];
    // No other caller runs between these (no real awaits), which is what the row locks give the real store.
    for (const [i, transition] of result.value.entries()) {
      const outcome = await this.apply(requestIds[i] as string, () => ({ ok: true, value: transition }));
      if (!outcome.ok) throw new Error(`applyTogether: ${outcome.error.code}`);
      applied.push({ transition: outcome.transition, notificationIds: outcome.notificationIds });
    }
    return { ok: true, applied };
  }

  async pendingExtensionOf(requestId: string): Promise<AccessRequest | null> {
    this.#maybeFail('pendingExtensionOf');
    const found = [...this.#requests.values()].find((r) => r.extendsId === requestId && (r.status === 'pending' || r.status === 'approved'));
    return found ? clone(found) : null;
  }

  async audit(entry: AuditEntry, requestId?: string): Promise<void> {
    this.#maybeFail('audit');
    this.#pushAudit(requestId ?? null, entry);
  }

  async recordPreExisting(requestId: string, held: string[]): Promise<string[]> {
    this.#maybeFail('recordPreExisting');
    if (!this.#requests.has(requestId)) throw new Error(`no request ${requestId}`);
    const existing = this.#grants.get(requestId);
    if (existing) return [...existing.preExisting];
    this.#grants.set(requestId, { preExisting: [...held] });
    return [...held];
  }

  async preExisting(requestId: string): Promise<string[]> {
    this.#maybeFail('preExisting');
    return [...(this.#grants.get(requestId)?.preExisting ?? [])];
  }

  async coveredElsewhere(request: AccessRequest, scope: 'window' | 'until-revoked'): Promise<string[]> {
    this.#maybeFail('coveredElsewhere');
    const now = this.clock.now();
    const covered = new Set<string>();
    for (const other of this.#requests.values()) {
      const grant = this.#grants.get(other.id);
      if (
        grant !== undefined &&
        other.id !== request.id &&
        other.resource === request.resource &&
        other.principal === request.principal &&
        (other.status === 'active' || other.status === 'revoking') &&
        (scope === 'until-revoked' || (other.expiresAt !== null && other.expiresAt > now))
      ) {
        // What the other request found already held is not its to cover.
        for (const g of other.grants) if (!grant.preExisting.includes(g)) covered.add(g);
      }
    }
    return request.grants.filter((g) => covered.has(g));
  }

  async openGrantsOf(resource: string): Promise<AccessOnRecord[]> {
    this.#maybeFail('openGrantsOf');
    const byPrincipal = new Map<string, { grants: Set<string>; preExisting: Set<string> }>();
    for (const r of this.#requests.values()) {
      if (r.resource !== resource) continue;
      const open = r.status === 'approved' || r.status === 'active' || r.status === 'revoking';
      const preExisting = this.#grants.get(r.id)?.preExisting ?? [];
      if (!open && preExisting.length === 0) continue;
      const entry = byPrincipal.get(r.principal) ?? { grants: new Set<string>(), preExisting: new Set<string>() };
      byPrincipal.set(r.principal, entry);
      if (open) for (const g of r.grants) entry.grants.add(g);
      for (const g of preExisting) entry.preExisting.add(g);
    }
    return [...byPrincipal].map(([principal, e]) => ({ principal, grants: [...e.grants].sort(), preExisting: [...e.preExisting].sort() }));
  }

  async withTargetLock<T>(resource: string, principal: string, work: () => Promise<T>): Promise<T> {
    this.#maybeFail('withTargetLock');
    // A queue per target: each holder waits for the one before it. Not re-entrant, like the advisory lock
    // taken on another pooled connection: a nested call for the same target never returns.
    const key = JSON.stringify([resource, principal]);
    const before = this.#locks.get(key) ?? Promise.resolve();
    let release = () => {};
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.#locks.set(key, tail);
    await before;
    this.lockAcquisitions.push(key);
    try {
      return await work();
    } finally {
      release();
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    }
  }

  async listByStatus(statuses: AccessRequest['status'][], limit: number): Promise<AccessRequest[]> {
    this.#maybeFail('listByStatus');
    // ORDER BY expires_at ASC (nulls last, as PostgreSQL sorts them), created_at ASC.
    const key = (r: AccessRequest) => r.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
    return [...this.#requests.values()]
      .filter((r) => statuses.includes(r.status))
      .sort((a, b) => key(a) - key(b) || a.createdAt.getTime() - b.createdAt.getTime())
      .slice(0, limit)
      .map(clone);
  }

  async pageByStatus(statuses: AccessRequest['status'][], afterId: string | null, limit: number): Promise<AccessRequest[]> {
    this.#maybeFail('pageByStatus');
    // ORDER BY id (text, compared as PostgreSQL's C collation would for these ASCII ids).
    return [...this.#requests.values()]
      .filter((r) => statuses.includes(r.status) && (afterId === null || r.id > afterId))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit)
      .map(clone);
  }

  async recentRequestsOf(requesterId: string, since: Date): Promise<HistoryEntry[]> {
    this.#maybeFail('recentRequestsOf');
    return [...this.#requests.values()]
      .filter((r) => r.requesterId === requesterId && r.extendsId === null && r.createdAt >= since)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .map((r) => ({ resource: r.resource, role: r.role, createdAt: new Date(r.createdAt), autoApproved: r.autoApprovedBy !== null }));
  }

  async listForRequester(requesterId: string, statuses: AccessRequest['status'][], limit: number): Promise<AccessRequest[]> {
    this.#maybeFail('listForRequester');
    return [...this.#requests.values()]
      .filter((r) => r.requesterId === requesterId && statuses.includes(r.status))
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .slice(0, limit)
      .map(clone);
  }

  async auditTrail(requestId: string): Promise<(AuditEntry & { at: Date })[]> {
    this.#maybeFail('auditTrail');
    return this.#audit.filter((a) => a.requestId === requestId).map(({ at, action, actor, details }) => clone({ at, action, actor, details }));
  }

  async recentAudit(limit: number): Promise<RecentAuditEntry[]> {
    this.#maybeFail('recentAudit');
    return this.#audit
      .slice(-limit)
      .reverse()
      .map(({ at, requestId, action, actor, details }) => clone({ at, requestId, action, actor, details }));
  }

  async recordHomeOpened(userId: string): Promise<void> {
    this.#maybeFail('recordHomeOpened');
    this.#homeViews.set(userId, this.clock.now());
  }

  async homeViewers(userIds: string[]): Promise<string[]> {
    this.#maybeFail('homeViewers');
    return [...new Set(userIds)].filter((u) => this.#homeViews.has(u));
  }

  async listUndelivered(olderThan: Date, limit: number, afterId?: string): Promise<string[]> {
    this.#maybeFail('listUndelivered');
    return [...this.#outbox.values()]
      .filter((n) => n.deliveredAt === null && n.abandonedAt === null && n.createdAt < olderThan && (afterId === undefined || Number(n.id) > Number(afterId)))
      .sort((a, b) => Number(a.id) - Number(b.id))
      .slice(0, limit)
      .map((n) => n.id);
  }

  async notification(id: string): Promise<{ requestId: string; notification: Notification; deliveredAt: Date | null; abandonedAt: Date | null } | null> {
    this.#maybeFail('notification');
    const row = this.#outbox.get(id);
    if (!row) return null;
    return {
      requestId: row.requestId,
      notification: clone(row.notification),
      deliveredAt: row.deliveredAt && new Date(row.deliveredAt),
      abandonedAt: row.abandonedAt && new Date(row.abandonedAt),
    };
  }

  async markDelivered(id: string): Promise<boolean> {
    this.#maybeFail('markDelivered');
    const row = this.#outbox.get(id);
    if (!row || row.deliveredAt !== null) return false;
    row.deliveredAt = this.clock.now();
    row.attempts += 1;
    row.lastError = null;
    return true;
  }

  async recordDeliveryFailure(id: string, error: string): Promise<void> {
    this.#maybeFail('recordDeliveryFailure');
    const row = this.#outbox.get(id);
    if (!row) return;
    row.attempts += 1;
    row.lastError = error;
  }

  async abandonDelivery(id: string, reason: string, audit: AuditEntry): Promise<{ abandoned: boolean; firstOfKind: boolean }> {
    this.#maybeFail('abandonDelivery');
    const row = this.#outbox.get(id);
    if (!row || row.deliveredAt !== null || row.abandonedAt !== null) return { abandoned: false, firstOfKind: false };
    const earlier = [...this.#outbox.values()].some(
      (n) => n.id !== id && n.requestId === row.requestId && n.abandonedAt !== null && n.notification.kind === row.notification.kind,
    );
    row.abandonedAt = this.clock.now();
    row.abandonReason = reason;
    row.attempts += 1;
    row.lastError = reason;
    this.#pushAudit(row.requestId, audit);
    return { abandoned: true, firstOfKind: !earlier };
  }

  async reviveAbandoned(requestId: string, kinds: readonly Notification['kind'][], audit: AuditEntry): Promise<string[]> {
    this.#maybeFail('reviveAbandoned');
    const rows = [...this.#outbox.values()].filter(
      (n) => n.requestId === requestId && n.abandonedAt !== null && n.deliveredAt === null && kinds.includes(n.notification.kind),
    );
    for (const row of rows) {
      row.abandonedAt = null;
      row.abandonReason = null;
    }
    const ids = rows.map((r) => r.id).sort((a, b) => Number(a) - Number(b));
    if (ids.length > 0) this.#pushAudit(requestId, { ...audit, details: { ...audit.details, notificationIds: ids } });
    return ids;
  }

  async cards(requestId: string): Promise<CardRef[]> {
    this.#maybeFail('cards');
    return this.#cards.filter((c) => c.requestId === requestId).map((c) => clone(c.card));
  }

  async saveCard(requestId: string, card: CardRef): Promise<void> {
    this.#maybeFail('saveCard');
    if (!this.#requests.has(requestId)) throw new Error(`insert or update on table "chat_messages" violates foreign key constraint (${requestId})`);
    // ON CONFLICT (request_id, platform, channel) DO NOTHING.
    const taken = this.#cards.some((c) => c.requestId === requestId && c.card.platform === card.platform && c.card.channel === card.channel);
    if (!taken) this.#cards.push({ requestId, card: clone(card) });
  }

  async saveRequesterDm(requestId: string, dm: RequesterDmRef): Promise<void> {
    this.#maybeFail('saveRequesterDm');
    if (!this.#requests.has(requestId)) throw new Error(`insert or update on table "requester_messages" violates foreign key constraint (${requestId})`);
    // ON CONFLICT (platform, channel, message_id) DO NOTHING; the window shown is kept in whole seconds.
    const taken = this.#requesterDms.some((r) => r.dm.platform === dm.platform && r.dm.channel === dm.channel && r.dm.messageId === dm.messageId);
    const stored = { ...clone(dm), shownDurationMs: Math.round(dm.shownDurationMs / 1000) * 1000 };
    if (!taken) this.#requesterDms.push({ id: String(this.#requesterDms.length + 1), requestId, dm: stored, ended: false });
  }

  async openRequesterDms(requestId: string): Promise<(RequesterDmRef & { id: string })[]> {
    this.#maybeFail('openRequesterDms');
    return this.#requesterDms.filter((r) => r.requestId === requestId && !r.ended).map((r) => ({ ...clone(r.dm), id: r.id }));
  }

  async markRequesterDmEnded(id: string): Promise<void> {
    this.#maybeFail('markRequesterDmEnded');
    const row = this.#requesterDms.find((r) => r.id === id);
    if (row) row.ended = true;
  }

  // ---- Inspectors for tests: what is stored, never a way around the port. ----

  /** The stored request, or a failed assertion. */
  request(requestId: string): AccessRequest {
    const r = this.#requests.get(requestId);
    if (!r) throw new Error(`no request ${requestId} in the fake store`);
    return clone(r);
  }

  requestCount(): number {
    return this.#requests.size;
  }

  auditLog(requestId?: string | null): StoredAudit[] {
    return this.#audit.filter((a) => requestId === undefined || a.requestId === requestId).map(clone);
  }

  actions(requestId?: string | null): string[] {
    return this.auditLog(requestId).map((a) => a.action);
  }

  outbox(requestId?: string): StoredNotification[] {
    return [...this.#outbox.values()].filter((n) => requestId === undefined || n.requestId === requestId).map(clone);
  }

  undeliveredIds(): string[] {
    return this.outbox()
      .filter((n) => n.deliveredAt === null && n.abandonedAt === null)
      .map((n) => n.id);
  }

  recordedPreExisting(requestId: string): string[] | undefined {
    const row = this.#grants.get(requestId);
    return row && [...row.preExisting];
  }

  #snapshot(requestId: string): RequestSnapshot | null {
    const request = this.#requests.get(requestId);
    if (!request) return null;
    return { request: clone(request), decisions: clone(this.#decisions.get(requestId) ?? []) };
  }

  #writeRecords(requestId: string, transition: Transition): string[] {
    this.#pushAudit(requestId, transition.audit);
    const ids: string[] = [];
    for (const effect of transition.effects) {
      const notification = notificationFor(effect);
      if (!notification) continue;
      const id = String(this.#nextNotification++);
      this.#outbox.set(id, { id, requestId, notification, createdAt: this.clock.now(), deliveredAt: null, attempts: 0, lastError: null, abandonedAt: null, abandonReason: null });
      ids.push(id);
    }
    return ids;
  }

  #pushAudit(requestId: string | null, entry: AuditEntry): void {
    this.#audit.push({ id: this.#audit.length + 1, at: this.clock.now(), requestId, ...clone(entry) });
  }

  #maybeFailAfterCommit(method: Method): void {
    const failure = this.#failuresAfterCommit.get(method);
    if (!failure || failure.remaining <= 0) return;
    failure.remaining -= 1;
    throw failure.error();
  }

  #maybeFail(method: Method): void {
    const failure = this.#failures.get(method);
    if (!failure || failure.remaining <= 0) return;
    failure.remaining -= 1;
    throw failure.error();
  }
}
