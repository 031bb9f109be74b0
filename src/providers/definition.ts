/**
 * What a provider contributes: its name in the policy (`provider: postgres`), the zod shape of its own
 * settings (the resource's keys besides `provider`, `principal` and `roles`), the environment variables those
 * settings name, and a factory. Secrets never appear in the policy: settings only name the variables.
 */
import { z } from 'zod';
import { HOUR, SECOND, parseDuration } from '../domain/duration.js';
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

/**
 * How long one statement on a target may wait for a lock (`lock_timeout`) or run at all (`statement_timeout`)
 * before it fails, as a retryable error: a GRANT or REVOKE blocked by someone else's open transaction must
 * turn into a failed attempt that is retried (and, for a revoke, alerted on), never a wait without end.
 */
export const TIMEOUT_DEFAULTS = { lockMs: 10 * SECOND, statementMs: 30 * SECOND } as const;
const TIMEOUT_BOUNDS = { minMs: SECOND, maxMs: HOUR };

/**
 * A timeout setting (`lock_timeout: 10s`), 1s to 1h. Validated here and kept as written (a provider's settings
 * are parsed again when it is built), converted with `timeoutMs`.
 */
export const timeoutSetting = z.string({ error: 'must be a duration like 10s, 30s or 2m' }).superRefine((text, ctx) => {
  const parsed = parseDuration(text, TIMEOUT_BOUNDS);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.problem });
});

/** A validated timeout setting in milliseconds, or the default when it is absent. */
export function timeoutMs(text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  const parsed = parseDuration(text, TIMEOUT_BOUNDS);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.ms;
}

/** The timeouts of a provider's settings (`lock_timeout`, `statement_timeout`), defaults filled in. */
export function timeoutsOf(settings: { lock_timeout?: string | undefined; statement_timeout?: string | undefined }): TargetTimeouts {
  return {
    lockMs: timeoutMs(settings.lock_timeout, TIMEOUT_DEFAULTS.lockMs),
    statementMs: timeoutMs(settings.statement_timeout, TIMEOUT_DEFAULTS.statementMs),
  };
}

export interface TargetTimeouts {
  /** The longest one statement waits for a lock held by another session. */
  lockMs: number;
  /** The longest one statement runs, waits included. */
  statementMs: number;
}

/** The zod shape of the two settings, for a provider's `settingsSchema`. */
export const timeoutShape = {
  lock_timeout: timeoutSetting.optional(),
  statement_timeout: timeoutSetting.optional(),
};
