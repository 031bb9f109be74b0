/**
 * Routes Bolt's and the Web API client's logging into our structured logger (and its redaction).
 *
 * At debug level the Web API client logs every request body and every response (`http request body: …`,
 * `http request result: …`). Those carry message contents: a requester's DM with the credentials of a
 * login-mode grant, which the exact-value masking cannot know in advance. Such lines are logged with the
 * payload left out; the method name and timing lines around them remain.
 */
import { LogLevel, type Logger as SlackLogger } from '@slack/logger';
import type { Logger as Pino } from 'pino';

export function boltLogger(log: Pino): SlackLogger {
  const child = log.child({ component: 'slack' });
  let level: LogLevel = LogLevel.INFO;
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
  return {
    debug: (...args) => child.debug(withoutPayload(text(args))),
    info: (...args) => child.info(text(args)),
    warn: (...args) => child.warn(text(args)),
    error: (...args) => child.error(text(args)),
    setLevel: (l) => (level = l),
    getLevel: () => level,
    setName: () => {},
  };
}

/** Debug lines of `@slack/web-api` that carry a request or response payload (a message's contents). */
const PAYLOAD_LINE = /^(http request body|http request result|http response body|Request arguments|response data)\b[^:]*:/i;

/** The line with its payload replaced; any other line unchanged. */
export function withoutPayload(line: string): string {
  const match = PAYLOAD_LINE.exec(line);
  return match ? `${match[0]} [omitted: may carry message contents]` : line;
}
