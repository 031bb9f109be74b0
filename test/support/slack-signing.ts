/** Signs request bodies exactly as Slack does (v0, HMAC-SHA256 over `v0:<ts>:<raw body>`). */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

export function slackSignature(secret: string, body: string, timestamp: number): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function signedHeaders(secret: string, body: string, contentType: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  return {
    'content-type': contentType,
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': slackSignature(secret, body, timestamp),
  };
}

const FIXTURES = new URL('../fixtures/slack/', import.meta.url);

/** The recorded slash-command body with fields replaced (values are URL-encoded as Slack sends them). */
export function slashCommandBody(fields: Record<string, string>): string {
  const params = new URLSearchParams(readFileSync(new URL('slash-command-request.txt', FIXTURES), 'utf8').trim());
  for (const [k, v] of Object.entries(fields)) params.set(k, v);
  return params.toString();
}

/** The recorded block_actions payload, as a `payload=` form body, after `edit` changes it. */
export function blockActionsBody(edit: (payload: Record<string, any>) => void): string {
  const payload = JSON.parse(readFileSync(new URL('block-actions-approve.json', FIXTURES), 'utf8')) as Record<string, any>;
  edit(payload);
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

export function fixtureJson(name: string): Record<string, any> {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as Record<string, any>;
}
