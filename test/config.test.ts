import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { loadConfig, secretValues, type Mode } from '../src/config.js';
import { createLogger } from '../src/observability/logger.js';

/** A complete environment for every mode. */
const FULL = {
  SLACK_BOT_TOKEN: 'xoxb-1111-2222-botsecret',
  SLACK_SIGNING_SECRET: '8f742231b10e8888abcd99yyyzzz85a5',
  DATABASE_URL: 'postgres://accessbot:dbpassword@127.0.0.1:5432/accessbot',
  ACCESS_POLICY: 'examples/policy.yaml',
};

function problemsOf(env: Record<string, string | undefined>, mode: Mode): string[] {
  const result = loadConfig(env, mode);
  if (result.ok) throw new Error('expected the config to be refused');
  return result.problems;
}

describe('loadConfig: defaults', () => {
  it('fills every default and groups by section', () => {
    const result = loadConfig(FULL, 'all');
    expect(result).toEqual({
      ok: true,
      config: {
        mode: 'all',
        slack: {
          botToken: FULL.SLACK_BOT_TOKEN,
          signingSecret: FULL.SLACK_SIGNING_SECRET,
          appToken: undefined,
          socketMode: false,
          apiUrl: 'https://slack.com/api/',
        },
        database: { url: FULL.DATABASE_URL },
        redis: { url: 'redis://127.0.0.1:6379' },
        http: { port: 3000 },
        policy: { path: 'examples/policy.yaml' },
        jobs: { reconcileIntervalMs: 30_000, queuePrefix: 'accessbot' },
        log: { level: 'info' },
      },
    });
  });

  it('returns a deeply frozen config', () => {
    const result = loadConfig(FULL, 'web');
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(Object.isFrozen(result.config)).toBe(true);
    expect(Object.isFrozen(result.config.slack)).toBe(true);
    expect(Object.isFrozen(result.config.jobs)).toBe(true);
  });

  it('treats empty variables as unset and trims whitespace', () => {
    const result = loadConfig({ ...FULL, PORT: '', LOG_LEVEL: ' ', SLACK_BOT_TOKEN: `${FULL.SLACK_BOT_TOKEN}\n` }, 'worker');
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(result.config.http.port).toBe(3000);
    expect(result.config.log.level).toBe('info');
    expect(result.config.slack.botToken).toBe(FULL.SLACK_BOT_TOKEN);
  });

  it('reads the optional variables', () => {
    const result = loadConfig(
      {
        ...FULL,
        SLACK_APP_TOKEN: 'xapp-1-A0-apptoken',
        SLACK_API_URL: 'http://127.0.0.1:9999/api',
        REDIS_URL: 'rediss://:pw@redis.internal:6380',
        PORT: '0',
        LOG_LEVEL: 'DEBUG',
        QUEUE_PREFIX: '{accessbot}',
      },
      'all',
    );
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(result.config.slack).toMatchObject({ appToken: 'xapp-1-A0-apptoken', socketMode: true, apiUrl: 'http://127.0.0.1:9999/api/' });
    expect(result.config.redis.url).toBe('rediss://:pw@redis.internal:6380');
    expect(result.config.http.port).toBe(0);
    expect(result.config.log.level).toBe('debug');
    expect(result.config.jobs.queuePrefix).toBe('{accessbot}');
  });
});

describe('loadConfig: required variables by mode', () => {
  const required: [Mode, string[]][] = [
    ['all', ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'DATABASE_URL', 'ACCESS_POLICY']],
    ['web', ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'DATABASE_URL', 'ACCESS_POLICY']],
    ['worker', ['SLACK_BOT_TOKEN', 'DATABASE_URL', 'ACCESS_POLICY']],
    ['migrate', ['DATABASE_URL']],
  ];

  it.each(required)('%s: each missing variable is reported by name', (mode, names) => {
    for (const name of names) {
      const problems = problemsOf({ ...FULL, [name]: undefined }, mode);
      expect(problems).toEqual([expect.stringMatching(new RegExp(`^${name}: not set; set it to `))]);
    }
  });

  it.each(required)('%s: all missing variables are reported at once', (mode, names) => {
    const problems = problemsOf({}, mode);
    expect(problems.map((p) => p.split(':')[0])).toEqual(names);
  });

  it('worker does not need the signing secret', () => {
    expect(loadConfig({ ...FULL, SLACK_SIGNING_SECRET: undefined }, 'worker').ok).toBe(true);
  });

  it('migrate needs only DATABASE_URL and ignores the rest', () => {
    const result = loadConfig({ DATABASE_URL: FULL.DATABASE_URL, SLACK_BOT_TOKEN: 'not-a-token', PORT: 'x' }, 'migrate');
    expect(result).toEqual({ ok: true, config: { mode: 'migrate', database: { url: FULL.DATABASE_URL }, log: { level: 'info' } } });
  });
});

describe('loadConfig: invalid values', () => {
  const BAD_SECRETS = {
    SLACK_BOT_TOKEN: 'xoxp-user-token-s3cr3t-a',
    SLACK_SIGNING_SECRET: FULL.SLACK_SIGNING_SECRET,
    SLACK_APP_TOKEN: 'xoxb-wrong-place-s3cr3t-b',
    DATABASE_URL: 'mysql://root:s3cr3t-c@db/app',
    REDIS_URL: 'http://:s3cr3t-d@redis:6379',
  };

  it('reports every problem at once, one line each, naming the variable', () => {
    const problems = problemsOf(
      { ...BAD_SECRETS, ACCESS_POLICY: 'p.yaml', SLACK_API_URL: 'slack', PORT: '65536', RECONCILE_INTERVAL: 'soon', LOG_LEVEL: 'verbose', QUEUE_PREFIX: 'a:b' },
      'all',
    );
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'SLACK_BOT_TOKEN',
      'SLACK_APP_TOKEN',
      'SLACK_API_URL',
      'DATABASE_URL',
      'REDIS_URL',
      'PORT',
      'RECONCILE_INTERVAL',
      'LOG_LEVEL',
      'QUEUE_PREFIX',
    ]);
    for (const p of problems) expect(p).not.toContain('\n');
    expect(problems).toContain('PORT: "65536" is not a port; use a whole number from 0 to 65535 (default 3000)');
    expect(problems).toContain('LOG_LEVEL: "verbose" is not a log level; use one of fatal, error, warn, info, debug, trace (default info)');
  });

  it('never echoes a secret value, in any mode', () => {
    for (const mode of ['all', 'web', 'worker', 'migrate'] as const) {
      const text = problemsOf({ ...BAD_SECRETS, ACCESS_POLICY: 'p.yaml' }, mode).join('\n');
      expect(text).not.toMatch(/s3cr3t|root|xoxp-user|wrong-place/);
    }
  });

  it('has no default for any secret', () => {
    const problems = problemsOf({}, 'all');
    for (const name of ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'DATABASE_URL']) {
      expect(problems.some((p) => p.startsWith(`${name}: not set`))).toBe(true);
    }
  });
});

describe('loadConfig: connection URLs the drivers would choke on later', () => {
  it('refuses a REDIS_URL whose database is not a number (ioredis would SELECT NaN), without echoing it', () => {
    for (const url of ['redis://:s3cr3t-e@127.0.0.1:6379/abc', 'redis://127.0.0.1:6379/1x', 'redis://127.0.0.1:6379/-1', 'redis://:s3cr3t-e@127.0.0.1:6379?db=two']) {
      const problems = problemsOf({ ...FULL, REDIS_URL: url }, 'worker');
      expect(problems).toEqual([expect.stringMatching(/^REDIS_URL: the path must be empty or a database number/)]);
      expect(problems.join('\n')).not.toMatch(/s3cr3t|abc|two/);
    }
  });

  it('accepts no path, / and any database number (the server says whether it has it, checked at start-up)', () => {
    for (const url of ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379/', 'redis://127.0.0.1:6379/0', 'rediss://:pw@r:6380/15', 'redis://127.0.0.1:6379/99', 'redis://127.0.0.1:6379?db=3']) {
      const result = loadConfig({ ...FULL, REDIS_URL: url }, 'worker');
      expect(result.ok && result.config.redis.url).toBe(url);
    }
  });

  it('refuses a DATABASE_URL or REDIS_URL whose user name or password has a malformed %-escape, naming the variable only', () => {
    const problems = problemsOf(
      { ...FULL, DATABASE_URL: 'postgres://u:p%zzs3cr3t-f@127.0.0.1:5432/db', REDIS_URL: 'redis://us%3:s3cr3t-g@127.0.0.1:6379' },
      'all',
    );
    expect(problems).toEqual([expect.stringMatching(/^DATABASE_URL: has a malformed %-escape/), expect.stringMatching(/^REDIS_URL: has a malformed %-escape/)]);
    expect(problems.join('\n')).not.toMatch(/s3cr3t|zz|us%3/);
    expect(problemsOf({ DATABASE_URL: 'postgres://u:p%zzs3cr3t-f@127.0.0.1:5432/db' }, 'migrate')).toEqual([
      expect.stringMatching(/^DATABASE_URL: has a malformed %-escape/),
    ]);
    const encoded = loadConfig({ ...FULL, DATABASE_URL: 'postgres://u:p%25zz@127.0.0.1:5432/db' }, 'all');
    expect(encoded.ok).toBe(true);
  });
});

describe('loadConfig: RECONCILE_INTERVAL', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1s', 1_000],
  ])('%s → %d ms', (text, ms) => {
    const result = loadConfig({ ...FULL, RECONCILE_INTERVAL: text }, 'worker');
    expect(result.ok && result.config.jobs.reconcileIntervalMs).toBe(ms);
  });

  it.each([
    ['30', '"30" is not a duration'],
    ['0s', '0s is too short; the minimum is 1s'],
    ['2h', '2h is too long; the maximum is 1h'],
  ])('refuses %s', (text, says) => {
    expect(problemsOf({ ...FULL, RECONCILE_INTERVAL: text }, 'worker')).toEqual([expect.stringMatching(new RegExp(`^RECONCILE_INTERVAL: ${says}`))]);
  });
});

describe('secretValues', () => {
  it('lists every secret, and connection passwords on their own', () => {
    const result = loadConfig(
      { ...FULL, SLACK_APP_TOKEN: 'xapp-apptoken', DATABASE_URL: 'postgres://u:p%40ss@h/db', REDIS_URL: 'redis://:redispw@r:6379' },
      'all',
    );
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(new Set(secretValues(result.config))).toEqual(
      new Set([
        'xoxb-1111-2222-botsecret',
        FULL.SLACK_SIGNING_SECRET,
        'xapp-apptoken',
        'postgres://u:p%40ss@h/db',
        'p%40ss',
        'p@ss',
        'redis://:redispw@r:6379',
        'redispw',
      ]),
    );
  });

  it('covers migrate configs too', () => {
    const result = loadConfig({ DATABASE_URL: FULL.DATABASE_URL }, 'migrate');
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(secretValues(result.config)).toEqual([FULL.DATABASE_URL, 'dbpassword']);
  });
});

describe('secretValues: a password that does not decode', () => {
  const url = 'postgres://u:p%zzsecret@127.0.0.1:5432/db';

  it('is still listed as written, so the logger masks it', () => {
    expect(secretValues({ mode: 'migrate', database: { url }, log: { level: 'info' } })).toEqual([url, 'p%zzsecret']);
  });

  it('is masked in a log line that carries it without the rest of the URL', () => {
    let text = '';
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const log = createLogger({ level: 'info', secrets: secretValues({ mode: 'migrate', database: { url }, log: { level: 'info' } }), destination: stream });
    log.error({ err: 'password authentication failed: p%zzsecret' }, 'driver said p%zzsecret');
    expect(text).toContain('[redacted]');
    expect(text).not.toContain('zzsecret');
  });
});
