/** Routes Bolt's and the Web API client's logging into our structured logger (and its redaction). */
import { LogLevel, type Logger as SlackLogger } from '@slack/logger';
import type { Logger as Pino } from 'pino';

export function boltLogger(log: Pino): SlackLogger {
  const child = log.child({ component: 'slack' });
  let level: LogLevel = LogLevel.INFO;
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
  return {
    debug: (...args) => child.debug(text(args)),
    info: (...args) => child.info(text(args)),
    warn: (...args) => child.warn(text(args)),
    error: (...args) => child.error(text(args)),
    setLevel: (l) => (level = l),
    getLevel: () => level,
    setName: () => {},
  };
}
