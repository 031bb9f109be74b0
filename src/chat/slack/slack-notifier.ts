/**
 * `ChatNotifier` over Slack's Web API. Rendering is in `blocks.ts`; this file only sends. Direct messages
 * are posted with the user id as the channel (Slack opens the app's DM with that user).
 */
import type { WebClient } from '@slack/web-api';
import type { ApproverAlert, RequesterNotice } from '../../domain/request.js';
import type { CardRef, ChatNotifier, RequestSnapshot } from '../../use-cases/ports.js';
import { approvalCard, approverAlert, requesterNotice } from './blocks.js';

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

  async notifyRequester(snapshot: RequestSnapshot, notice: RequesterNotice): Promise<void> {
    await this.client.chat.postMessage({ channel: snapshot.request.requesterId, ...requesterNotice(snapshot, notice) });
  }

  async alertApprovers(snapshot: RequestSnapshot, alert: ApproverAlert): Promise<void> {
    await this.client.chat.postMessage({ channel: snapshot.request.channel, ...approverAlert(snapshot, alert) });
  }
}
