/**
 * `ChatNotifier` over Slack's Web API. Rendering is in `blocks.ts`; this file only sends. Direct messages
 * are posted with the user id as the channel (Slack opens the app's DM with that user). Every call goes through
 * `slackCall`, which turns Slack's refusals for good into `PermanentChatError` (slack-errors.ts).
 */
import type { WebClient } from '@slack/web-api';
import type { ApproverAlert, RequesterNotice } from '../../domain/request.js';
import { PermanentChatError, type AnyAdminAlert, type CardRef, type ChatNotifier, type LoginCredentials, type RequestSnapshot, type RequesterDmRef } from '../../use-cases/ports.js';
import type { HomeData } from '../../use-cases/home-view.js';
import { adminAlert, approvalCard, approverAlert, endedRequesterNotice, offersActions, requesterNotice } from './blocks.js';
import { homeView } from './home.js';
import { slackCall } from './slack-errors.js';

export class SlackNotifier implements ChatNotifier {
  constructor(private readonly client: WebClient) {}

  async postCard(channel: string, snapshot: RequestSnapshot): Promise<CardRef> {
    const res = await slackCall(channel, () => this.client.chat.postMessage({ channel, ...approvalCard(snapshot) }));
    if (!res.ts || !res.channel) throw new Error('chat.postMessage returned no message reference');
    return { platform: 'slack', channel: res.channel, messageId: res.ts };
  }

  async updateCard(card: CardRef, snapshot: RequestSnapshot): Promise<void> {
    await slackCall(card.channel, () => this.client.chat.update({ channel: card.channel, ts: card.messageId, ...approvalCard(snapshot) }));
  }

  /** A DM with actions on the grant is answered with its reference: the DM's own channel (D…) and ts. */
  async notifyRequester(snapshot: RequestSnapshot, notice: RequesterNotice, credentials?: LoginCredentials): Promise<CardRef | null> {
    const to = snapshot.request.requesterId;
    const res = await slackCall(to, () => this.client.chat.postMessage({ channel: to, ...requesterNotice(snapshot, notice, credentials) }));
    if (!offersActions(notice)) return null;
    if (!res.ts || !res.channel) throw new Error('chat.postMessage returned no message reference');
    return { platform: 'slack', channel: res.channel, messageId: res.ts };
  }

  async endRequesterDm(dm: RequesterDmRef, snapshot: RequestSnapshot, at: Date | null): Promise<void> {
    await slackCall(dm.channel, () => this.client.chat.update({ channel: dm.channel, ts: dm.messageId, ...endedRequesterNotice(snapshot, dm, at) }));
  }

  async alertApprovers(snapshot: RequestSnapshot, alert: ApproverAlert): Promise<void> {
    const { channel } = snapshot.request;
    await slackCall(channel, () => this.client.chat.postMessage({ channel, ...approverAlert(snapshot, alert) }));
  }

  async publishHome(userId: string, home: HomeData): Promise<void> {
    await slackCall(userId, () => this.client.views.publish({ user_id: userId, view: homeView(home) }));
  }

  /**
   * One DM per admin; one that fails does not keep the others from theirs. A transient failure is thrown rather
   * than a refusal for good, so that a retry can still reach the admin Slack could not answer.
   */
  async alertAdmins(admins: string[], alert: AnyAdminAlert): Promise<void> {
    const message = adminAlert(alert);
    const results = await Promise.allSettled(admins.map((admin) => slackCall(admin, () => this.client.chat.postMessage({ channel: admin, ...message }))));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    const failed = failures.find((e) => !(e instanceof PermanentChatError)) ?? failures[0];
    if (failed !== undefined) throw failed;
  }
}
