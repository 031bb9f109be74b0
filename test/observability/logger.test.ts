/**
 * Secrets are removed from logs by configuration: known secret values are masked wherever they appear
 * (including inside error messages), credentials in URLs and Slack-style tokens are masked by shape, and
 * secret-looking keys are redacted by path.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SecretSet, createLogger, maskSecrets } from '../../src/observability/logger.js';

function capture(secrets: string[]) {
  let out = '';
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => (out += c.toString()));
  return { log: createLogger({ level: 'debug', secrets, destination: stream }), text: () => out };
}

describe('the logger', () => {
  it('masks every known secret value, even inside an error message', () => {
    const { log, text } = capture(['s1gning-secret-value', 'hunter2-password']);
    log.error({ err: new Error('auth failed with s1gning-secret-value') }, 'connecting with hunter2-password');
    expect(text()).not.toContain('s1gning-secret-value');
    expect(text()).not.toContain('hunter2-password');
    expect(text()).toContain('[redacted]');
  });

  it('masks credentials in URLs and Slack tokens it was never told about', () => {
    const { log, text } = capture([]);
    log.warn({ detail: 'postgres://bot:pa55word@db.internal:5432/prod refused; token xoxb-1234-5678-abcdef' }, 'oops');
    expect(text()).not.toContain('pa55word');
    expect(text()).not.toContain('xoxb-1234-5678-abcdef');
    expect(text()).toContain('postgres://***@db.internal:5432/prod');
  });

  it('redacts secret-looking keys by path', () => {
    const { log, text } = capture([]);
    log.info({ password: 'p', token: 't0k', slack: { secret: 'x' }, headers: { authorization: 'Bearer abc' } }, 'keys');
    const line = JSON.parse(text()) as Record<string, any>;
    expect(line.password).toBe('[redacted]');
    expect(line.token).toBe('[redacted]');
    expect(line.slack.secret).toBe('[redacted]');
    expect(line.headers.authorization).toBe('[redacted]');
  });
});

describe('maskSecrets', () => {
  it.each([
    ['redis://:pw@127.0.0.1:6379', 'redis://***@127.0.0.1:6379'],
    ['xapp-1-A0-123-abc', 'xapp-[redacted]'],
    ['nothing secret here', 'nothing secret here'],
  ])('%s → %s', (input, expected) => {
    expect(maskSecrets(input, [])).toBe(expected);
  });

  it('ignores very short "secrets" that would mask ordinary words', () => {
    expect(maskSecrets('a b c', ['a'])).toBe('a b c');
  });
});

describe('SecretSet', () => {
  it('masks values added after the logger was made (a policy version naming a new variable)', () => {
    const secrets = new SecretSet(['first-secret-value']);
    let out = '';
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => (out += c.toString()));
    const log = createLogger({ level: 'debug', secrets, destination: stream });
    secrets.add(['added-later-secret', 'short']);
    log.info({ detail: 'first-secret-value and added-later-secret and short' }, 'both');
    expect(out).not.toContain('first-secret-value');
    expect(out).not.toContain('added-later-secret');
    expect(out).toContain('and short'); // under 6 characters: not masked, it would garble ordinary words
  });

  it('masks a secret that contains another one whole', () => {
    const secrets = new SecretSet(['abcdef', 'xxabcdefyy']);
    expect(maskSecrets('value xxabcdefyy here', secrets.values())).toBe('value [redacted] here');
  });
});
