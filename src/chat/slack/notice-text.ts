/** Text helpers shared by the notices: the request in fallback text, and the approvers' channel as a link. */
import type { AccessRequest } from '../../domain/request.js';
import { escapeMrkdwn } from './limits.js';

/** `prod-db / read` in plain fallback text (escaped: fallback text is mrkdwn too). */
export function plainWhat(request: AccessRequest): string {
  return `${escapeMrkdwn(request.resource)} / ${escapeMrkdwn(request.role)}`;
}

/** A channel link when the id looks like one; anything else is shown as text rather than trusted as a token. */
export function channelLink(channel: string): string {
  return /^[CG][A-Z0-9]{2,}$/.test(channel) ? `<#${channel}>` : escapeMrkdwn(channel);
}
