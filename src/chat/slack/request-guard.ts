/**
 * Refuses signed Slack requests that Bolt's HTTPReceiver lets through: a timestamp more than 5 minutes in the
 * future (Bolt only checks the past), and the same signed bytes sent again within the window (a replay: Slack
 * never sends the same body twice, since every command and click carries a fresh `trigger_id`).
 *
 * The receiver verifies the signature, then `slackRequestProperties` copies the signature and timestamp headers
 * into the listener context; `requestGuard`, a global middleware, checks the timestamp both ways and claims the
 * signature in PostgreSQL, and never calls `next()` when it refuses. A refused command, click or form submission
 * is answered with a status (401 for a bad timestamp or a replay) by `answerRefusals`, the receiver's
 * processEventErrorHandler. An Events API body has already been answered 200 by Bolt before any middleware
 * runs, so a refused event is only dropped and logged: 200 to a delivery already processed is what Slack expects.
 * HTTP mode only: Socket Mode has no signatures.
 */
import type { IncomingMessage } from 'node:http';
import { HTTPModuleFunctions, type AnyMiddlewareArgs, type Middleware, type ReceiverProcessEventErrorHandlerArgs } from '@slack/bolt';
import type { BlockAction, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../../use-cases/ports.js';
import { tellClicker } from './listeners/replies.js';

/** Slack's window, in seconds, applied on both sides of this host's clock. */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;
/** How long the guard waits for the signature store before answering "unavailable" (Slack waits 3 s). */
export const CLAIM_DEADLINE_MS = 2_000;

const SIGNATURE = 'slackSignature';
const TIMESTAMP = 'slackRequestTimestamp';

/** Where the guard records the signatures it has accepted (`PostgresSlackSignatures`). */
export interface SignatureStore {
  /** True when the signature was not recorded yet (and now is); false when it was: a replay. */
  claim(signature: string): Promise<boolean>;
}

export type RefusalReason = 'missing-headers' | 'timestamp' | 'replay' | 'store-unavailable';

/** Thrown by the guard for a request not yet answered; `answerRefusals` writes its status. */
export class SlackRequestRefused extends Error {
  /** Set so that Bolt's asCodedError passes the error through as it is, to app.error and the receiver. */
  readonly code = 'accessbot_slack_request_refused';
  constructor(
    readonly status: 401 | 503,
    readonly reason: RefusalReason,
  ) {
    super(`Slack request refused (${reason})`);
    this.name = 'SlackRequestRefused';
  }
}

/** The guard's error, found as itself or as the `original` of a Bolt wrapper. */
export function refusalIn(error: unknown): SlackRequestRefused | null {
  if (error instanceof SlackRequestRefused) return error;
  const original = (error as { original?: unknown } | null)?.original;
  return original instanceof SlackRequestRefused ? original : null;
}

/** The receiver's customPropertiesExtractor: the headers the guard needs, merged into the listener context. */
export function slackRequestProperties(request: IncomingMessage): Record<string, string | undefined> {
  const header = (name: string) => {
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  return { [SIGNATURE]: header('x-slack-signature'), [TIMESTAMP]: header('x-slack-request-timestamp') };
}

type Kind = 'event' | 'command' | 'action' | 'view' | 'other';

function kindOf(body: Record<string, unknown>): Kind {
  if (body.type === 'event_callback') return 'event';
  if (typeof body.command === 'string') return 'command';
  if (body.type === 'block_actions' || body.type === 'block_suggestion' || body.type === 'interactive_message') return 'action';
  if (body.type === 'view_submission' || body.type === 'view_closed') return 'view';
  return 'other';
}

export const UNAVAILABLE_TEXT =
  'accessbot cannot check this request right now (its database is unreachable) and nothing was changed. Please try again in a minute.';

const deadline = (ms: number) =>
  new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer from the signature store within ${ms} ms`)), ms).unref());

export interface GuardOptions {
  /** Milliseconds since the epoch; the host's clock by default. */
  now?: () => number;
  claimDeadlineMs?: number;
}

export function requestGuard(store: SignatureStore, log: Logger, options: GuardOptions = {}): Middleware<AnyMiddlewareArgs> {
  const now = options.now ?? Date.now;
  const claimDeadlineMs = options.claimDeadlineMs ?? CLAIM_DEADLINE_MS;
  return async (args) => {
    const { context, next } = args;
    const body = args.body as unknown as Record<string, unknown>;
    const ack = (args as { ack?: (response?: unknown) => Promise<void> }).ack;
    const kind = kindOf(body);
    const signature = typeof context[SIGNATURE] === 'string' ? (context[SIGNATURE] as string) : '';
    const timestamp = Number(context[TIMESTAMP]);
    // Enough to tell log lines apart; useless for forging anything (the value is public to anyone who saw it).
    const where = { kind, signature: signature.slice(0, 10), retryNum: context.retryNum };

    const refuse = (reason: RefusalReason, detail: object = {}) => {
      if (!ack) {
        log.warn({ ...where, reason, ...detail }, 'Slack event dropped by the request guard (already acknowledged with 200; not processed)');
        return;
      }
      log.warn({ ...where, reason, ...detail }, 'Slack request refused by the request guard');
      throw new SlackRequestRefused(401, reason);
    };

    // Bolt verified the signature with both headers, so they are there; refuse rather than guess if they are not.
    if (!signature || !Number.isFinite(timestamp)) return refuse('missing-headers');
    const skew = Math.floor(now() / 1000) - timestamp;
    if (Math.abs(skew) > TIMESTAMP_TOLERANCE_SECONDS) return refuse('timestamp', { skewSeconds: skew });

    let fresh: boolean;
    try {
      const claim = store.claim(signature);
      claim.catch(() => undefined); // after the deadline its failure is no longer anyone's business
      fresh = await Promise.race([claim, deadline(claimDeadlineMs)]);
    } catch (error) {
      // Fail closed. Every handler needs PostgreSQL anyway: with the store unreachable, a command or click could
      // not be carried out, and letting it through would switch replay protection off exactly when PostgreSQL
      // is flaky (a replay could land in the gap between a failed claim and a working handler). The user still
      // gets an answer at once: a command or a button click the private sentence (as when a use case cannot reach
      // PostgreSQL), a form Slack's own error for a 503 (a modal can only show errors on its own inputs).
      log.error({ ...where, err: error instanceof Error ? error.message : String(error) }, 'Slack request refused: the signature store is unreachable');
      if (!ack) return;
      if (kind === 'command') {
        await ack({ response_type: 'ephemeral', text: UNAVAILABLE_TEXT });
        return;
      }
      if (body.type === 'block_actions') {
        await ack();
        const { client, respond } = args as unknown as { client: WebClient; respond?: RespondFn };
        await tellClicker(client, respond ?? null, body as unknown as BlockAction, UNAVAILABLE_TEXT).catch((err: unknown) =>
          log.warn({ ...where, err: err instanceof Error ? err.message : String(err) }, 'could not tell the clicker to try again'),
        );
        return;
      }
      throw new SlackRequestRefused(503, 'store-unavailable');
    }
    if (!fresh) return refuse('replay');
    await next();
  };
}

/**
 * The receiver's processEventErrorHandler: the guard's refusals get their status and no body; everything else
 * is answered by Bolt's default handler, as before.
 */
export async function answerRefusals(args: ReceiverProcessEventErrorHandlerArgs): Promise<boolean> {
  const refused = refusalIn(args.error);
  if (!refused) return HTTPModuleFunctions.defaultProcessEventErrorHandler(args);
  if (!args.response.headersSent) {
    args.response.writeHead(refused.status);
    args.response.end();
  }
  return true;
}
