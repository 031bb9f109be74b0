/** The `provider: postgres` settings in the policy file and the provider definition. */
import { z } from 'zod';
import { envConnection, envName, resolveEnv, timeoutShape, timeoutsOf, type ProviderDefinition } from '../definition.js';
import { PostgresRoleProvider } from './provider.js';

/** The schemes the driver reads; it would take any other (`mysql://`, `https://`) and fail only at the first grant. */
const SCHEMES = ['postgres:', 'postgresql:'];

function hasPostgresScheme(url: string): boolean {
  try {
    return SCHEMES.includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

/** The shortest `password_key` accepted: 32 characters (`openssl rand -base64 32` gives 44). */
const MIN_PASSWORD_KEY = 32;

/**
 * `provider: postgres` in the policy: `connection: { env: NAME }` names the variable holding the URL;
 * `mode: membership` (default) or `login`; `password_key: { env: NAME }` (mode login only, required there)
 * names the variable holding the key the login passwords derive from.
 */
const settingsSchema = z.object({
  connection: envConnection,
  ...timeoutShape,
  mode: z
    .enum(['membership', 'login'], {
      error: 'must be membership (grant roles to an existing user) or login (create a login role per grant)',
    })
    .optional(),
  password_key: z
    .strictObject(
      { env: envName },
      { error: 'use { env: NAME } naming the environment variable that holds the key; secrets never go in the policy file' },
    )
    .optional(),
});

function envNamesOf(settings: Readonly<Record<string, unknown>>): { setting: string; variable: string }[] {
  const { connection, mode, password_key } = settingsSchema.parse(settings);
  const names = [{ setting: 'connection.env', variable: connection.env }];
  if (mode === 'login' && password_key) names.push({ setting: 'password_key.env', variable: password_key.env });
  return names;
}

export const postgresProvider: ProviderDefinition = {
  name: 'postgres',
  shape: settingsSchema.shape,
  envNames: envNamesOf,
  create(settings, env, path) {
    const { connection, mode = 'membership', password_key, ...timeouts } = settingsSchema.parse(settings);
    const url = resolveEnv(env, connection.env, `${path}.connection.env`);
    const invalidUrl = `${path}.connection.env: environment variable ${connection.env} is not a valid postgres:// or postgresql:// connection URL`;
    if (!hasPostgresScheme(url)) throw new Error(invalidUrl);
    let passwordKey: string | undefined;
    if (mode === 'login') {
      if (!password_key) {
        throw new Error(
          `${path}.password_key: required with mode: login; use { env: NAME } naming the environment variable that holds the key the login passwords derive from (at least ${MIN_PASSWORD_KEY} characters, e.g. openssl rand -base64 32)`,
        );
      }
      passwordKey = resolveEnv(env, password_key.env, `${path}.password_key.env`);
      if (passwordKey.length < MIN_PASSWORD_KEY) {
        throw new Error(`${path}.password_key.env: environment variable ${password_key.env} is too short: at least ${MIN_PASSWORD_KEY} characters`);
      }
    } else if (password_key) {
      throw new Error(`${path}.password_key: only used with mode: login`);
    }
    try {
      return new PostgresRoleProvider({ url, mode, timeouts: timeoutsOf(timeouts), ...(passwordKey ? { passwordKey } : {}) });
    } catch {
      throw new Error(invalidUrl);
    }
  },
};
