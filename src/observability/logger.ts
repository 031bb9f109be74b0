/**
 * Structured logging (pino). Secrets are removed by configuration, not by hope: known secret keys are
 * redacted by path, and every exact secret value the process knows (tokens, signing secret, connection
 * URLs) is masked wherever it appears in a log line, including inside error messages.
 */
import { pino, type Logger as Pino } from 'pino';
import type { Logger } from '../use-cases/ports.js';

const REDACT_PATHS = [
  'token',
  'password',
  'secret',
  'authorization',
  '*.token',
  '*.password',
  '*.secret',
  '*.authorization',
  'headers.authorization',
  'connection',
  '*.connection',
  'url',
  '*.url',
];

/** Masks URL credentials (`postgres://user:pw@host` → `postgres://***@host`) and Slack-style tokens. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 6) out = out.split(s).join('[redacted]');
  return out
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s@/]*@/gi, '$1***@')
    .replace(/\bxox[abposr]-[A-Za-z0-9-]+/g, 'xox?-[redacted]')
    .replace(/\bxapp-[A-Za-z0-9-]+/g, 'xapp-[redacted]');
}

/**
 * The exact secret values masked in every line. More can be added while the process runs: a policy version
 * that names a new variable (`connection: { env: NAME }`, `password_key`) brings a new secret with it.
 */
export class SecretSet {
  #values: string[] = [];

  constructor(values: Iterable<string> = []) {
    this.add(values);
  }

  /** Values shorter than 6 characters are ignored: masking them would garble ordinary text. */
  add(values: Iterable<string>): void {
    for (const v of values) if (v.length >= 6 && !this.#values.includes(v)) this.#values.push(v);
    // Longest first, so a secret that contains another is masked whole.
    this.#values.sort((a, b) => b.length - a.length);
  }

  values(): readonly string[] {
    return this.#values;
  }
}

export interface LoggerOptions {
  level: string;
  secrets: readonly string[] | SecretSet;
  /** Where lines go; stdout by default. Tests pass a stream to read what was logged. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Pino {
  const secrets = options.secrets instanceof SecretSet ? options.secrets : new SecretSet(options.secrets);
  const stream = options.destination ?? process.stdout;
  return pino(
    {
      level: options.level,
      base: { service: 'accessbot' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    { write: (line: string) => stream.write(maskSecrets(line, secrets.values())) },
  );
}

/** Adapts pino to the use cases' `Logger` port. */
export function asPortLogger(log: Pino): Logger {
  return {
    debug: (o, m) => log.debug(o, m),
    info: (o, m) => log.info(o, m),
    warn: (o, m) => log.warn(o, m),
    error: (o, m) => log.error(o, m),
  };
}
