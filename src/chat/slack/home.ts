/**
 * The App Home tab, minimal for now: what this person may request and how. The admin console, personal
 * grants and pending approvals arrive with the policy-engine work (issue 4).
 */
import type { types } from '@slack/bolt';
import { formatDuration } from '../../domain/duration.js';
import { SLASH_COMMAND } from './ids.js';
import { context, section } from './format.js';
import { escapeMrkdwn } from './limits.js';

/** Slack allows 100 blocks in a Home view; keep room for the header and the footer. */
const HOME_ROLES_MAX = 90;

export function homeView(roles: { resource: string; role: string; maxDurationMs: number }[]): types.HomeView {
  const shown = roles.slice(0, HOME_ROLES_MAX);
  const lines = shown.map((r) => `• \`${escapeMrkdwn(r.resource)}\` *${escapeMrkdwn(r.role)}* — up to ${formatDuration(r.maxDurationMs)}`);
  const blocks: types.KnownBlock[] = [
    section(`*Just-in-time access*\nAsk with \`${SLASH_COMMAND} request <resource> <role> <duration> <reason…>\`, or \`${SLASH_COMMAND} request\` for a form.`),
    section(roles.length === 0 ? 'You may not request any access yet. Ask an admin to add you to the policy.' : `*What you may request*\n${lines.join('\n')}`),
  ];
  if (roles.length > shown.length) blocks.push(context(`…and ${roles.length - shown.length} more; \`${SLASH_COMMAND} request\` lists them all.`));
  return { type: 'home', blocks };
}
