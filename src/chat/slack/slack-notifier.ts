/**
 * `ChatNotifier` over Slack's Web API. Rendering is in `blocks.ts`; this file only sends. Direct messages
 * are posted with the user id as the channel (Slack opens the app's DM with that user).
 */
import type { WebClient } from '@slack/web-api';
import type { ApproverAlert, RequesterNotice } from '../../domain/request.js';
import type { AdminAlert, BreakGlassAlert, CardRef, StalledRevokesAlert, ChatNotifier, LoginCredentials, RequestSnapshot, RequesterDmRef } from '../../use-cases/ports.js';
import type { HomeData } from '../../use-cases/home-view.js';
import { adminAlert, approvalCard, approverAlert, endedRequesterNotice, offersActions, requesterNotice } from './blocks.js';
import { homeView } from './home.js';

export class SlackNotifier implements ChatNotifier {
  constructor(private readonly client: WebClient) {}

  async postCard(channel: string, snapshot: RequestSnapshot): Promise<CardRef> {
    const res = await this.client.chat.postMessage({ channel, ...approvalCard(snapshot) });
    if (!res.ts || !res.channel) throw new Error('chat.postMessage returned no message reference');
    return { platform: 'slack', channel: res.channel, messageId: res.ts };
  }

  async updateCard(card: CardRef, snapshot: RequestSnapshot): Promise<void> {
    await this.client.chat.update({ channel: card.channel, ts: card.messageId, ...approvalCard(snapshot) });
  }

  /** A DM with actions on the grant is answered with its reference: the DM's own channel (D…) and ts. */
  async notifyRequester(snapshot: RequestSnapshot, notice: RequesterNotice, credentials?: LoginCredentials): Promise<CardRef | null> {
    const res = await this.client.chat.postMessage({ channel: snapshot.request.requesterId, ...requesterNotice(snapshot, notice, credentials) });
    if (!offersActions(notice)) return null;
    if (!res.ts || !res.channel) throw new Error('chat.postMessage returned no message reference');
    return { platform: 'slack', channel: res.channel, messageId: res.ts };
  }

  async endRequesterDm(dm: RequesterDmRef, snapshot: RequestSnapshot, at: Date | null): Promise<void> {
    await this.client.chat.update({ channel: dm.channel, ts: dm.messageId, ...endedRequesterNotice(snapshot, dm, at) });
  }

  async alertApprovers(snapshot: RequestSnapshot, alert: ApproverAlert): Promise<void> {
    await this.client.chat.postMessage({ channel: snapshot.request.channel, ...approverAlert(snapshot, alert) });
  }

  async publishHome(userId: string, home: HomeData): Promise<void> {
    await this.client.views.publish({ user_id: userId, view: homeView(home) });
  }

  /** One DM per admin; one that fails does not keep the others from theirs. */
  async alertAdmins(admins: string[], alert: AdminAlert | BreakGlassAlert | StalledRevokesAlert): Promise<void> {
    const message = adminAlert(alert);
    const results = await Promise.allSettled(admins.map((admin) => this.client.chat.postMessage({ channel: admin, ...message })));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
