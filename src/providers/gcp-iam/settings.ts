/** The `provider: gcp` settings in the policy file, the credential JSON they name, and the provider definition. */
import { createPrivateKey } from 'node:crypto';
import { z } from 'zod';
import { envName, resolveEnv, type ProviderDefinition } from '../definition.js';
import { GcpIamProvider } from './provider.js';

/**
 * Parses the credential JSON a variable holds, checking a service-account key enough to fail at start-up
 * rather than in the first grant. Messages name the variable, never the value (a parse error would quote it).
 */
export function parseCredentials(text: string, where: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${where} does not hold valid JSON; expected a service-account key file's contents`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${where} does not hold a JSON object; expected a service-account key file's contents`);
  }
  const key = parsed as Record<string, unknown>;
  if (typeof key.type !== 'string') throw new Error(`${where} holds JSON without a "type"; expected a service-account key`);
  if (key.type === 'service_account') {
    if (typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
      throw new Error(`${where} holds a service-account key without "client_email" or "private_key"`);
    }
    try {
      createPrivateKey(key.private_key);
    } catch {
      throw new Error(`${where} holds a service-account key whose "private_key" is not a valid PEM private key`);
    }
  }
  return key;
}

const NO_SECRETS = 'secrets never go in the policy file';
const useCredentialsEnv = `use { env: NAME } naming the environment variable that holds the service-account key JSON (or leave credentials out to use Application Default Credentials); ${NO_SECRETS}`;

/** `credentials: { env: NAME }`. */
const credentialsEnv = z.strictObject(
  { env: envName },
  {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') return `only "env" is allowed here; ${useCredentialsEnv}`;
      if (iss.code === 'invalid_type') return useCredentialsEnv;
      return undefined;
    },
  },
);

/** Project ids (`my-project-123`, legacy `example.com:my-project`) or numbers: nothing that could leave the path. */
const PROJECT = /^(?:(?:[a-z0-9-]+\.)+[a-z]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$|^[0-9]{1,20}$/;

/** `provider: gcp` in the policy. */
const settingsSchema = z.object({
  project: z
    .string({ error: (iss) => (iss.input === undefined ? 'required: the project id (my-project-123) whose IAM policy gets the bindings' : 'must be a project id') })
    .regex(PROJECT, { error: 'must be a project id (6 to 30 lowercase letters, digits and hyphens, like my-project-123) or a project number' }),
  credentials: credentialsEnv.optional(),
});

export const gcpProvider: ProviderDefinition = {
  name: 'gcp',
  shape: settingsSchema.shape,
  envNames: (settings) => {
    const { credentials } = settingsSchema.parse(settings);
    return credentials ? [{ setting: 'credentials.env', variable: credentials.env }] : [];
  },
  create(settings, env, path) {
    const { project, credentials } = settingsSchema.parse(settings);
    if (!credentials) return new GcpIamProvider({ project });
    const where = `${path}.credentials.env: environment variable ${credentials.env}`;
    const text = resolveEnv(env, credentials.env, `${path}.credentials.env`);
    return new GcpIamProvider({ project, credentials: parseCredentials(text, where) });
  },
};
