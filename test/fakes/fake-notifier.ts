/**
 * Fakes `ChatNotifier`: keeps every card, card update, requester notice (and its rewrite once the grant ended),
 * approver alert and admin DM in memory, as the snapshot it was given (what the message would show). Like Slack it refuses a card to a channel it does
 * not know (`channel_not_found`) and an update of a message it never posted (`message_not_found`), both for good
 * (`PermanentChatError`, as the Slack adapter classifies them); message ids are Slack-style timestamps.
 * `failNext` makes calls fail like a Slack outage (transient: `service_unavailable`); `refuseNext(method, code)`
 * makes them refused for good with that code (a deleted channel, a deactivated user), for the destination the
 * call was for; `whilePosting` runs between Slack accepting a card and the reference coming back, to land a
 * decision in that gap.
 * Left out on purpose: rendering and Block Kit limits (the renderer's tests and the HTTP-level fake Slack in
 * `test/support/fake-slack.ts` cover those), rate limits, and DM channels being closed.
 */
import type { ApproverAlert, RequesterNotice } from '../../src/domain/request.js';
import { PermanentChatError, type AnyAdminAlert, type CardRef, type ChatNotifier, type RequestSnapshot, type RequesterDmRef } from '../../src/use-cases/ports.js';
import type { HomeData } from '../../src/use-cases/home-view.js';

export type NotifierMethod = 'postCard' | 'updateCard' | 'notifyRequester' | 'endRequesterDm' | 'alertApprovers' | 'alertAdmins' | 'publishHome';

/** The notices whose DM offers actions on the grant (Revoke now, Extend), as the Slack renderer sends them. */
const WITH_ACTIONS: readonly RequesterNotice[] = ['granted', 'expiring-soon', 'extended'];

export interface PostedCard {
  card: CardRef;
  /** What the card shows now: the snapshot of the last post or update. */
  snapshot: RequestSnapshot;
  updates: number;
}

export interface SentNotice {
  requestId: string;
  to: string;
  notice: RequesterNotice;
  snapshot: RequestSnapshot;
  /** Where the DM is, when it offers actions. */
  ref: CardRef | null;
  /** Set once its actions were taken off: the snapshot and time it was rewritten with. */
  ended: { snapshot: RequestSnapshot; at: Date | null; times: number } | null;
}

export interface SentAlert {
  requestId: string;
  channel: string;
  alert: ApproverAlert;
  snapshot: RequestSnapshot;
}

export class FakeNotifier implements ChatNotifier {
  readonly cards: PostedCard[] = [];
  readonly notices: SentNotice[] = [];
  readonly alerts: SentAlert[] = [];
  /** One entry per admin DM: who got it, and what it said. */
  readonly adminAlerts: { to: string; alert: AnyAdminAlert }[] = [];
  readonly calls: NotifierMethod[] = [];
  /** Every App Home published, in order: for whom, and what it held. */
  readonly homes: { to: string; home: HomeData }[] = [];
  /** Runs after Slack accepted a card and before `postCard` returns its reference. */
  whilePosting: (() => Promise<void>) | null = null;
  readonly #channels: Set<string>;
  readonly #failures = new Map<NotifierMethod, number>();
  readonly #refusals = new Map<NotifierMethod, { code: string; remaining: number }>();
  #ts = 1722950400;

  constructor(channels: string[]) {
    this.#channels = new Set(channels);
  }

  /** The bot joins a channel: cards may be posted there from now on. */
  addChannel(channel: string): void {
    this.#channels.add(channel);
  }

  failNext(method: NotifierMethod, times = 1): void {
    this.#failures.set(method, times);
  }

  /** The next `times` calls of `method` are refused for good with Slack's `code` (`PermanentChatError`). */
  refuseNext(method: NotifierMethod, code: string, times = 1): void {
    this.#refusals.set(method, { code, remaining: times });
  }

  cardsOf(requestId: string): PostedCard[] {
    return this.cards.filter((c) => c.snapshot.request.id === requestId);
  }

  noticesOf(requestId: string): RequesterNotice[] {
    return this.notices.filter((n) => n.requestId === requestId).map((n) => n.notice);
  }

  alertsOf(requestId: string): ApproverAlert[] {
    return this.alerts.filter((a) => a.requestId === requestId).map((a) => a.alert);
  }

  async postCard(channel: string, snapshot: RequestSnapshot): Promise<CardRef> {
    this.#call('postCard', channel);
    // A user id as the channel is a DM, which Slack opens itself and answers with the DM's own id (D…).
    const dm = /^[UW]/.test(channel);
    if (!dm && !this.#channels.has(channel)) throw new PermanentChatError('channel_not_found', channel);
    const card: CardRef = { platform: 'slack', channel: dm ? `D${channel.slice(1)}` : channel, messageId: `${this.#ts++}.000100` };
    this.cards.push({ card, snapshot: structuredClone(snapshot), updates: 0 });
    const hook = this.whilePosting;
    if (hook) {
      this.whilePosting = null;
      await hook();
    }
    return { ...card };
  }

  async updateCard(card: CardRef, snapshot: RequestSnapshot): Promise<void> {
    this.#call('updateCard', card.channel);
    const posted = this.cards.find((c) => c.card.channel === card.channel && c.card.messageId === card.messageId);
    if (!posted) throw new PermanentChatError('message_not_found', card.channel);
    posted.snapshot = structuredClone(snapshot);
    posted.updates += 1;
  }

  /** Like Slack, a DM is answered with the DM's own channel (D…); returned only when it offers actions. */
  async notifyRequester(snapshot: RequestSnapshot, notice: RequesterNotice): Promise<CardRef | null> {
    const { request } = snapshot;
    this.#call('notifyRequester', request.requesterId);
    const ref: CardRef | null = WITH_ACTIONS.includes(notice)
      ? { platform: 'slack', channel: `D${request.requesterId.slice(1)}`, messageId: `${this.#ts++}.000100` }
      : null;
    this.notices.push({ requestId: request.id, to: request.requesterId, notice, snapshot: structuredClone(snapshot), ref, ended: null });
    return ref ? { ...ref } : null;
  }

  async endRequesterDm(dm: RequesterDmRef, snapshot: RequestSnapshot, at: Date | null): Promise<void> {
    this.#call('endRequesterDm', dm.channel);
    const sent = this.notices.find((n) => n.ref?.channel === dm.channel && n.ref.messageId === dm.messageId);
    if (!sent) throw new PermanentChatError('message_not_found', dm.channel);
    sent.ended = { snapshot: structuredClone(snapshot), at, times: (sent.ended?.times ?? 0) + 1 };
  }

  async alertApprovers(snapshot: RequestSnapshot, alert: ApproverAlert): Promise<void> {
    const { request } = snapshot;
    this.#call('alertApprovers', request.channel);
    if (!this.#channels.has(request.channel)) throw new PermanentChatError('channel_not_found', request.channel);
    this.alerts.push({ requestId: request.id, channel: request.channel, alert, snapshot: structuredClone(snapshot) });
  }

  /** Like Slack, a DM to each admin; one failing call (`failNext`) fails the whole alert before any is sent. */
  async alertAdmins(admins: string[], alert: AnyAdminAlert): Promise<void> {
    this.#call('alertAdmins', admins[0] ?? '');
    for (const to of admins) this.adminAlerts.push({ to, alert: structuredClone(alert) });
  }

  async publishHome(userId: string, home: HomeData): Promise<void> {
    this.#call('publishHome', userId);
    this.homes.push({ to: userId, home: structuredClone(home) });
  }

  /** The last Home published for `userId`, if any. */
  homeOf(userId: string): HomeData | undefined {
    return this.homes.filter((h) => h.to === userId).at(-1)?.home;
  }

  #call(method: NotifierMethod, destination: string): void {
    this.calls.push(method);
    const remaining = this.#failures.get(method) ?? 0;
    if (remaining > 0) {
      this.#failures.set(method, remaining - 1);
      throw new Error('An API error occurred: service_unavailable');
    }
    const refusal = this.#refusals.get(method);
    if (refusal && refusal.remaining > 0) {
      refusal.remaining -= 1;
      throw new PermanentChatError(refusal.code, destination);
    }
  }
}
