/**
 * The Slack side of the web process: the Bolt app (and in HTTP mode its receiver), the in-flight count that
 * stop() waits on, the replay guard in front of every listener, then the listeners.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { Logger as SlackLogger } from '@slack/logger';
import type { InFlightSlackWork } from '../chat/slack/in-flight.js';
import { registerSlackHandlers } from '../chat/slack/listeners/index.js';
import { answerRefusals, requestGuard, slackRequestProperties, type SignatureStore } from '../chat/slack/request-guard.js';
import type { WebConfig } from '../config.js';
import { healthRoutes, type ReadinessProbe } from '../observability/health.js';
import type { UseCaseDeps } from '../use-cases/deps.js';
import type { Logger } from '../use-cases/ports.js';

export interface SlackWebOptions {
  web: WebConfig;
  deps: UseCaseDeps;
  /** The readiness probes of the health routes, served next to Slack's. */
  probes: ReadinessProbe[];
  slackLogger: SlackLogger;
  /** Counts each request until its listeners are done, for stop() to wait on. */
  slackWork: InFlightSlackWork;
  /** Where the replay guard records the signatures it accepted (HTTP mode). */
  signatures: SignatureStore;
  log: Logger;
  slackRetries?: number | undefined;
}

/** Builds the Bolt app, registers the listeners and starts listening: the app, and the port it listens on. */
export async function startSlackWeb({ web, deps, probes, slackLogger, slackWork, signatures, log, slackRetries }: SlackWebOptions): Promise<{ bolt: App; port: number }> {
  // In HTTP mode the receiver is built here: App does not pass customPropertiesExtractor or
  // processEventErrorHandler on to the receiver it builds, and the replay guard needs both.
  const receiver = web.slack.socketMode
    ? undefined
    : new HTTPReceiver({
        signingSecret: web.slack.signingSecret,
        customRoutes: healthRoutes(probes),
        logger: slackLogger,
        logLevel: LogLevel.INFO,
        customPropertiesExtractor: slackRequestProperties,
        processEventErrorHandler: answerRefusals,
      });
  const bolt = new App({
    token: web.slack.botToken,
    ...(receiver ? { receiver } : { signingSecret: web.slack.signingSecret }),
    ...(web.slack.socketMode ? { socketMode: true, appToken: web.slack.appToken, customRoutes: healthRoutes(probes) } : {}),
    logger: slackLogger,
    logLevel: LogLevel.INFO,
    clientOptions: { slackApiUrl: web.slack.apiUrl, retryConfig: { retries: slackRetries ?? 3 } },
    ...(web.slack.socketMode ? { installerOptions: { port: web.http.port } } : {}),
  });
  // First of all middleware: counts each request until its listeners are done, for stop() to wait on.
  bolt.use(slackWork.middleware);
  // Refuses future-dated and replayed signed requests before any listener runs (see request-guard.ts).
  if (receiver) bolt.use(requestGuard(signatures, log));
  registerSlackHandlers(bolt, deps);
  const server = (await bolt.start(web.http.port)) as Server | undefined;
  const port = (server?.address() as AddressInfo | null)?.port ?? web.http.port;
  return { bolt, port };
}
