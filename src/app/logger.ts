/**
 * The process's logger: every secret of the configuration masked, and any password in a connection URL of the
 * environment. The values of the variables a policy names are added as each policy comes into force
 * (`secrets.add(policyEnvValues(…))`): connection strings, password keys, cloud credentials.
 */
import type { Logger as Pino } from 'pino';
import { secretValues, type WebConfig, type WorkerConfig } from '../config.js';
import { SecretSet, createLogger } from '../observability/logger.js';

export function createAppLogger(
  config: WebConfig | WorkerConfig,
  env: Readonly<Record<string, string | undefined>>,
  logDestination?: NodeJS.WritableStream,
): { log: Pino; secrets: SecretSet } {
  const secrets = new SecretSet([
    ...secretValues(config),
    ...Object.values(env).filter((v): v is string => typeof v === 'string' && /:\/\/[^/]*@/.test(v)),
  ]);
  const log = createLogger({ level: config.log.level, secrets, ...(logDestination ? { destination: logDestination } : {}) });
  return { log, secrets };
}
