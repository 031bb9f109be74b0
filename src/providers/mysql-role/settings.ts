/** The `provider: mysql` settings in the policy file and the provider definition. */
import { z } from 'zod';
import { envConnection, resolveEnv, timeoutShape, timeoutsOf, type ProviderDefinition } from '../definition.js';
import { MAX_HOST_CHARS, validName } from './names.js';
import { MysqlRoleProvider } from './provider.js';

const accountHost = z.string().min(1).max(MAX_HOST_CHARS).refine((h) => validName(h, MAX_HOST_CHARS), { error: 'must be an account host part like % or 10.0.%' });
/** Unquoted-identifier characters only: it is a setting an operator types, not user input. */
const schemaName = z.string().regex(/^[A-Za-z0-9_$]{1,64}$/, { error: 'must be a schema name (letters, digits, _ and $, at most 64)' });

/**
 * `provider: mysql` in the policy: `connection: { env: NAME }` names the variable holding the URL; `host`
 * is the host part of every principal's account (default `%`); `expiry_event_schema` turns on the
 * best-effort expiry event; `lock_timeout` and `statement_timeout` bound every statement.
 */
const settingsSchema = z.object({ connection: envConnection, host: accountHost.optional(), expiry_event_schema: schemaName.optional(), ...timeoutShape });

export const mysqlProvider: ProviderDefinition = {
  name: 'mysql',
  shape: settingsSchema.shape,
  envNames: (settings) => [{ setting: 'connection.env', variable: settingsSchema.parse(settings).connection.env }],
  create(settings, env, path) {
    const { connection, host, expiry_event_schema, ...timeouts } = settingsSchema.parse(settings);
    const url = resolveEnv(env, connection.env, `${path}.connection.env`);
    try {
      return new MysqlRoleProvider({ url, timeouts: timeoutsOf(timeouts), ...(host !== undefined && { host }), ...(expiry_event_schema !== undefined && { expiryEventSchema: expiry_event_schema }) });
    } catch {
      throw new Error(`${path}.connection.env: environment variable ${connection.env} is not a valid mysql:// connection URL`);
    }
  },
};
