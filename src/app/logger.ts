/** The process's logger: every secret of the configuration masked, and any password in a connection URL of the environment. */
import type { Logger as Pino } from 'pino';
import { secretValues, type WebConfig, type WorkerConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';

export function createAppLogger(
  config: WebConfig | WorkerConfig,
  env: Readonly<Record<string, string | undefined>>,
  logDestination?: NodeJS.WritableStream,
): Pino {
  return createLogger({
    level: config.log.level,
    secrets: [...secretValues(config), ...Object.values(env).filter((v): v is string => typeof v === 'string' && /:\/\/[^/]*@/.test(v))],
    ...(logDestination ? { destination: logDestination } : {}),
  });
}
