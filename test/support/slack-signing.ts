/**
 * Signs request bodies exactly as Slack does (v0, HMAC-SHA256 over `v0:<ts>:<raw body>`), and builds them from
 * the recorded fixtures with what Slack makes fresh for every request: a new `trigger_id` for each command and
 * click, a new `action_ts` for each click. (Slack never sends the same bytes twice; the app refuses a replay.)
 */
import { createHmac, randomBytes } from 'node:crypto';
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

let triggerCounter = 0;
/** A trigger id in Slack's format, `<digits>.<team-ish digits>.<32 hex>`, never the same twice. */
export function freshTriggerId(): string {
  return `${7311122233345 + ++triggerCounter}.7001234567890.${randomBytes(16).toString('hex')}`;
}
/** An action timestamp in Slack's format, `<unix seconds>.<6 digits>`. */
export function freshActionTs(): string {
  return `${Math.floor(Date.now() / 1000)}.${String(randomBytes(3).readUIntBE(0, 3) % 1_000_000).padStart(6, '0')}`;
}

/**
 * The recorded slash-command body with a fresh `trigger_id` and fields replaced (values are URL-encoded as Slack
 * sends them); `fields.trigger_id` wins over the fresh one.
 */
export function slashCommandBody(fields: Record<string, string>): string {
  const params = new URLSearchParams(readFileSync(new URL('slash-command-request.txt', FIXTURES), 'utf8').trim());
  params.set('trigger_id', freshTriggerId());
  for (const [k, v] of Object.entries(fields)) params.set(k, v);
  return params.toString();
}

/**
 * The recorded block_actions payload with a fresh `trigger_id` and `actions[0].action_ts`, as a `payload=` form
 * body, after `edit` changes it (what `edit` sets wins).
 */
export function blockActionsBody(edit: (payload: Record<string, any>) => void): string {
  const payload = JSON.parse(readFileSync(new URL('block-actions-approve.json', FIXTURES), 'utf8')) as Record<string, any>;
  payload.trigger_id = freshTriggerId();
  payload.actions[0].action_ts = freshActionTs();
  edit(payload);
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/** A recorded payload; one that carries a `trigger_id` (a click, a form submission) gets a fresh one. */
export function fixtureJson(name: string): Record<string, any> {
  const payload = JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as Record<string, any>;
  if (typeof payload.trigger_id === 'string') payload.trigger_id = freshTriggerId();
  return payload;
}
