/**
 * What a provider contributes: its name in the policy (`provider: postgres`), the zod shape of its own
 * settings (the resource's keys besides `provider`, `principal` and `roles`), the environment variables those
 * settings name, and a factory. Secrets never appear in the policy: settings only name the variables.
 */
import { z } from 'zod';
import type { AccessProvider } from '../use-cases/ports.js';

export type Env = Readonly<Record<string, string | undefined>>;

export type ClosableProvider = AccessProvider & { close(): Promise<void> };

export interface ProviderDefinition {
  name: string;
  shape: z.core.$ZodLooseShape;
  /** The environment variables these (already validated) settings name, with the setting naming each. */
  envNames(settings: Readonly<Record<string, unknown>>): { setting: string; variable: string }[];
  /** Builds the provider; `path` (`resources.prod-db`) prefixes every configuration error. Connects lazily. */
  create(settings: Readonly<Record<string, unknown>>, env: Env, path: string): ClosableProvider;
}

const NO_SECRETS = 'secrets never go in the policy file';
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const useEnv = `use { env: NAME } naming the environment variable that holds the connection string; ${NO_SECRETS}`;

/** The name of an environment variable. Messages never include the input: it may be a pasted secret. */
export const envName = z
  .string({ error: (iss) => (iss.input === undefined ? `required; ${useEnv}` : undefined) })
  .regex(ENV_NAME, {
    error: `must be the name of an environment variable (capital letters, digits and _, like PROD_DB_URL), not its value; ${NO_SECRETS}`,
  });

/** `connection: { env: NAME }`. */
export const envConnection = z.strictObject(
  { env: envName },
  {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') return `only "env" is allowed here; ${useEnv}`;
      if (iss.code === 'invalid_type') return iss.input === undefined ? `required; ${useEnv}` : useEnv;
      return undefined;
    },
  },
);

/** The value of a variable the policy names, or an error naming the setting and the variable, never a value. */
export function resolveEnv(env: Env, name: string, settingPath: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new Error(`${settingPath}: environment variable ${name} ${value === undefined ? 'is not set' : 'is empty'}`);
  }
  return value;
}
