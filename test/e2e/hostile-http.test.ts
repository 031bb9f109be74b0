/**
 * Hostile traffic at the HTTP boundary, against the real app and a real database: replayed signed bodies,
 * wrong content types, oversized bodies, missing and future timestamps, SQL-looking and very long command text,
 * and a click from a Slack user id full of quotes. Each test asserts what a user, an approver or an operator
 * would see, and what ends up (or does not end up) in the database.
 *
 * Signed requests are refused with 401 and never processed when the same bytes come again within Slack's
 * 5-minute window (a replay: the signature is already recorded), or when the timestamp is more than 5 minutes
 * away from now in either direction (Bolt itself checks only the past); see `src/chat/slack/request-guard.ts`.
 * When the signature store does not answer, requests are refused (fail closed) and still answered in time.
 *
 * Recorded behaviour that is a known limit, not an accident (see the tests for details):
 * - the body limit is Bolt's default, 4 MB: a 2 MB signed command is read and answered with a usage message.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REASON_MAX_LENGTH } from '../../src/domain/command.js';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';
import { UNAVAILABLE_TEXT } from '../../src/chat/slack/request-guard.js';
import { holdInTransaction } from '../support/locks.js';
import { signedHeaders, slashCommandBody } from '../support/slack-signing.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('hostile');
});
afterAll(async () => {
  await h?.close();
});

const FORM = 'application/x-www-form-urlencoded';
const settle = (ms = 500) => new Promise((resolve) => setTimeout(resolve, ms));
/** What Slack does to typed command text before sending it. */
const slackEscape = (typed: string) => typed.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** What a person reads: Slack shows `&lt;` as `<`. */
const shown = (text: unknown) => String(text).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

const requestCount = async () => (await h.sql`SELECT count(*)::int AS n FROM access_requests`)[0]!.n as number;
const auditCount = async () => (await h.sql`SELECT count(*)::int AS n FROM audit_events`)[0]!.n as number;
const rowsWithReason = (reason: string) => h.sql`SELECT id, requester_id, status FROM access_requests WHERE reason = ${reason} ORDER BY created_at`;
const cardFor = (id: string) =>
  h.slack.callsTo('chat.postMessage').find((c) => c.args.channel === APPROVERS_CHANNEL && JSON.stringify(c.args).includes(id));
const appCalls = () => h.slack.calls.filter((c) => c.method !== 'auth.test');

function commandBody(text: string): string {
  return slashCommandBody({ text, user_id: USERS.alice, user_name: 'alice', response_url: h.slack.responseUrl('commands/alice') });
}

/**
 * A POST on its own connection (no keep-alive pool): after a 413 the server stops reading and drops the
 * connection, which must not make a later, unrelated request in this file fail.
 */
function rawPost(body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${h.baseUrl()}/slack/events`);
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: false, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    // The server may answer (413) and close before the whole body is written; the answer is what counts.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    req.end(body);
  });
}

async function snapshot() {
  return { calls: appCalls().length, responses: h.slack.responses.length, requests: await requestCount(), audit: await auditCount() };
}
async function expectNothingHappened(before: Awaited<ReturnType<typeof snapshot>>) {
  await settle();
  expect(await snapshot()).toEqual(before);
}

async function expectHealthy() {
  const res = await fetch(`${h.baseUrl()}/readyz`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ ready: true, checks: { database: 'ok', redis: 'ok' } });
}

describe('a signed slash command replayed byte for byte within the 5-minute window', () => {
  it('the first is processed; the identical replay is refused with 401 and creates nothing: one request, one card', async () => {
    // Slack never sends a command twice (each has a fresh trigger_id); only someone who captured a signed
    // request can replay it, within the window.
    const reason = 'INC-700 replayed body';
    const body = commandBody(`request prod-db read 1h ${reason}`);
    const headers = signedHeaders(h.secrets.signingSecret, body, FORM);

    const first = await h.post(body, headers);
    expect(first.status).toBe(200);
    const id = requestIdIn((await first.json()) as Record<string, unknown>);
    await eventually(() => expect(cardFor(id)).toBeDefined());
    const before = await snapshot();

    const replay = await h.post(body, headers);
    expect(replay.status).toBe(401);
    expect(await replay.text()).toBe('');
    await expectNothingHappened(before);

    const rows = (await rowsWithReason(reason)).map((r) => ({ id: r.id, requester: r.requester_id, status: r.status }));
    expect(rows).toEqual([{ id, requester: USERS.alice, status: 'pending' }]);
    expect(h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === APPROVERS_CHANNEL && JSON.stringify(c.args).includes(reason))).toHaveLength(1);
    expect(await h.target.hasRole(h.target.principal, h.target.roles.read)).toBe(false);
    const refusal = h.logs().split('\n').find((l) => l.includes('refused by the request guard') && l.includes('"reason":"replay"'));
    expect(refusal).toBeDefined();
    expect(refusal).not.toContain(headers['x-slack-signature']!); // a short prefix at most, never the signature
  });

  it('two identical requests at the same moment (an unseen signed body): exactly one is answered 200, the other 401', async () => {
    const reason = 'INC-707 concurrent replay';
    const body = commandBody(`request prod-db read 1h ${reason}`);
    const headers = signedHeaders(h.secrets.signingSecret, body, FORM);

    const answers = await Promise.all([h.post(body, headers), h.post(body, headers)]);
    await Promise.all(answers.map((r) => r.text()));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
    await settle();
    expect(await rowsWithReason(reason)).toHaveLength(1);
  });
});

describe('when the signature store does not answer (its table locked by another session)', () => {
  // Fail closed: a request whose signature cannot be recorded is not processed, and its sender is answered
  // within Slack's 3 s all the same (the guard waits 2 s for the store).
  it('a command and a click are answered privately at once that nothing was changed; nothing is processed', async () => {
    const pending = await h.command('request prod-db read 1h INC-709 before the store stalls');
    const id = requestIdIn(pending.body);
    await eventually(() => expect(cardFor(id)).toBeDefined());
    const before = await snapshot();
    const lock = await holdInTransaction(h.db.url, ['LOCK TABLE slack_request_signatures IN ACCESS EXCLUSIVE MODE']);
    try {
      let started = Date.now();
      const res = await h.command('request prod-db read 1h INC-709 while the store stalls');
      expect(Date.now() - started).toBeLessThan(2_900);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ response_type: 'ephemeral', text: UNAVAILABLE_TEXT });

      started = Date.now();
      expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
      expect(Date.now() - started).toBeLessThan(2_900);
      await eventually(() =>
        expect(h.slack.callsTo('chat.postEphemeral').filter((c) => c.args.user === USERS.bob && c.args.text === UNAVAILABLE_TEXT)).toHaveLength(1),
      );
    } finally {
      await lock.release();
    }
    // The one Slack call made is the clicker's private "try again".
    await expectNothingHappened({ ...before, calls: before.calls + 1 });
    expect(await h.sql`SELECT 1 FROM decisions WHERE request_id = ${id}`).toHaveLength(0);
    expect(h.logs()).toMatch(/Slack request refused: the signature store is unreachable/);
  });
});

describe('content types', () => {
  it.each([
    ['application/json', 'a form body declared as JSON'],
    ['text/plain', 'a form body declared as text'],
    ['application/x-www-form-urlencoded; charset=utf-8', 'a form type with a charset (Bolt parses only the exact type Slack sends)'],
  ])('%s with a correct signature (%s) is refused with 400 and nothing is processed', async (contentType) => {
    const before = await snapshot();
    const body = commandBody('request prod-db read 1h INC-701 content type');
    const res = await h.post(body, signedHeaders(h.secrets.signingSecret, body, contentType));
    expect(res.status).toBe(400);
    await res.text();
    await expectNothingHappened(before);
  });
});

describe('body size', () => {
  it("a 2 MB signed command is under Bolt's 4 MB limit: it is read, answered with the reason limit, and creates nothing", async () => {
    const before = await requestCount();
    const size = 2 * 1024 * 1024;
    const body = commandBody(`request prod-db read 1h ${'x'.repeat(size)}`);
    const res = await rawPost(body, signedHeaders(h.secrets.signingSecret, body, FORM));
    expect(res.status).toBe(200);
    const answer = JSON.parse(res.text) as { response_type: string; text: string };
    expect(answer.response_type).toBe('ephemeral');
    expect(shown(answer.text)).toContain(`The reason is ${size} characters; at most ${REASON_MAX_LENGTH} are allowed`);
    expect(answer.text.length).toBeLessThan(1_000);
    expect(await requestCount()).toBe(before);
    await expectHealthy();
  });

  it('a body over 4 MB is refused with 413, signed or not, before anything is parsed; the process stays up', async () => {
    const before = await snapshot();
    const body = commandBody(`request prod-db read 1h ${'x'.repeat(5 * 1024 * 1024)}`);
    expect((await rawPost(body, signedHeaders(h.secrets.signingSecret, body, FORM))).status).toBe(413);
    expect((await rawPost(body, { 'content-type': FORM })).status).toBe(413);
    await expectNothingHappened(before);
    expect(h.logs()).toMatch(/Request body exceeded the maximum allowed size/);
    await expectHealthy();
    const live = await fetch(`${h.baseUrl()}/healthz`);
    expect(live.status).toBe(200);
    await live.text();
  });
});

describe('timestamps', () => {
  it('a correct signature without x-slack-request-timestamp is refused with 401 and nothing is processed', async () => {
    const before = await snapshot();
    const body = commandBody('request prod-db read 1h INC-702 no timestamp');
    const headers = signedHeaders(h.secrets.signingSecret, body, FORM);
    delete headers['x-slack-request-timestamp'];
    const res = await h.post(body, headers);
    expect(res.status).toBe(401);
    await res.text();
    await expectNothingHappened(before);
  });

  it.each([
    ['one hour ahead', 3_600],
    ['ten years ahead', 10 * 365 * 86_400],
  ])('a correctly signed timestamp %s is refused with 401 and nothing is processed', async (_label, aheadSeconds) => {
    // Only a holder of the signing secret can sign a future timestamp (Slack signs with its own current time); a
    // future-dated request would otherwise stay replayable until long after its signature should have expired.
    const before = await snapshot();
    const reason = `INC-703 signed ${aheadSeconds}s ahead`;
    const body = commandBody(`request prod-db read 1h ${reason}`);
    const res = await h.post(body, signedHeaders(h.secrets.signingSecret, body, FORM, Math.floor(Date.now() / 1000) + aheadSeconds));
    expect(res.status).toBe(401);
    expect(await res.text()).toBe('');
    await expectNothingHappened(before);
    expect(await rowsWithReason(reason)).toHaveLength(0);
    const skews = h.logs().split('\n').filter((l) => l.includes('"reason":"timestamp"')).map((l) => (JSON.parse(l) as { skewSeconds: number }).skewSeconds);
    expect(skews.some((skew) => Math.abs(skew + aheadSeconds) <= 2)).toBe(true);
  });

  it('a timestamp 4 minutes ahead (clock skew within the window) is accepted and processed', async () => {
    const reason = 'INC-708 signed 4 minutes ahead';
    const body = commandBody(`request prod-db read 1h ${reason}`);
    const res = await h.post(body, signedHeaders(h.secrets.signingSecret, body, FORM, Math.floor(Date.now() / 1000) + 4 * 60));
    expect(res.status).toBe(200);
    const id = requestIdIn((await res.json()) as Record<string, unknown>);
    expect((await rowsWithReason(reason)).map((r) => r.id)).toEqual([id]);
  });
});

describe('hostile command text', () => {
  const type = (typed: string, user: string = USERS.alice) => h.command(slackEscape(typed), user);
  const storedReason = async (id: string) => (await h.sql`SELECT reason FROM access_requests WHERE id = ${id}`)[0]?.reason as string | undefined;
  const tablesExist = async () =>
    (await h.sql`SELECT to_regclass('public.access_requests')::text AS a, to_regclass('public.decisions')::text AS d, to_regclass('public.audit_events')::text AS e`)[0];

  const REASONS: [string, string][] = [
    ['an SQL injection', "'; DROP TABLE access_requests; --"],
    ['quotes and semicolons', `Robert'); DROP TABLE decisions;-- "quoted" 'single' \`tick\``],
    ['dollar quoting, placeholders and backslashes', String.raw`$1 $$ $tag$ %s %n ${7*7} {{7*7}} \x00 \n \' \\`],
    ['markup, mentions and entities', '<script>alert(1)</script> <!channel> <@U0BOB0002> &amp; &lt; & < >'],
    ['control characters and bidi overrides', 'line one\nline\ttwo \u001b[31mred\u001b[0m \u202eevil\u202c \u200b'],
  ];
  it.each(REASONS)('a reason with %s is stored exactly as typed', async (_label, typed) => {
    const res = await type(`request prod-db read 1h ${typed}`);
    expect(res.status).toBe(200);
    const id = requestIdIn(res.body);
    expect(await storedReason(id)).toBe(typed);
    expect(await tablesExist()).toEqual({ a: 'access_requests', d: 'decisions', e: 'audit_events' });
  });

  it(`a unicode reason of exactly ${REASON_MAX_LENGTH} characters is stored exactly as typed`, async () => {
    const pieces = ['😀', '👩‍💻', 'ü', 'ñ', '中', 'ع', 'é', '𝔘', 'ß', ' '];
    let typed = 'INC-704 ';
    for (let i = 0; typed.length < REASON_MAX_LENGTH; i++) {
      const next = pieces[i % pieces.length]!;
      typed += typed.length + next.length <= REASON_MAX_LENGTH ? next : 'x';
    }
    typed = typed.slice(0, -1) + 'z'; // never ends in a space: the reason is trimmed
    expect(typed.length).toBe(REASON_MAX_LENGTH);
    const res = await type(`request prod-db read 1h ${typed}`);
    const id = requestIdIn(res.body);
    expect(await storedReason(id)).toBe(typed);
  });

  it('10 KB of unicode is refused privately with the reason limit, nothing is created, and the tables are intact', async () => {
    const before = await requestCount();
    const typed = `'; DROP TABLE access_requests; -- ${'𝔘ñíçødé 中文 😀 '.repeat(700)}`.trim();
    expect(typed.length).toBeGreaterThan(10_000);
    const res = await type(`request prod-db read 1h ${typed}`);
    expect(res.status).toBe(200);
    expect(res.body.response_type).toBe('ephemeral');
    expect(shown(res.body.text)).toContain(`The reason is ${typed.length} characters; at most ${REASON_MAX_LENGTH} are allowed`);
    expect(await requestCount()).toBe(before);
    expect(await tablesExist()).toEqual({ a: 'access_requests', d: 'decisions', e: 'audit_events' });
  });

  it('an SQL-looking resource name is refused by the grammar, and a refused request is audited with its text as typed', async () => {
    const bad = await type("request prod-db';DROP read 1h x");
    expect(shown(bad.body.text)).toContain(`"prod-db';DROP" is not a resource name`);

    const reason = "'); DELETE FROM audit_events; --";
    const refused = await type(`request nope read 1h ${reason}`);
    expect(shown(refused.body.text)).toContain('There is no resource `nope`');
    const audit = await h.sql`SELECT details FROM audit_events WHERE action = 'request.refused' AND details->>'reason' = ${reason}`;
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toMatchObject({ resource: 'nope', role: 'read', reason, code: 'UNKNOWN_RESOURCE' });
    expect(await auditCount()).toBeGreaterThan(0);
  });

  it('a NUL character (which PostgreSQL text cannot hold) creates nothing, is answered privately, and breaks nothing', async () => {
    // The parser refuses it with a plain explanation, before anything reaches the database.
    const before = await requestCount();
    const res = await type('request prod-db read 1h INC-705 nul\u0000byte');
    expect(res.status).toBe(200);
    expect(res.body.response_type).toBe('ephemeral');
    expect(JSON.stringify(res.body)).toContain('NUL character');
    expect(await requestCount()).toBe(before);
    await expectHealthy();
  });
});

describe('a block_actions click from a Slack user id full of quotes', () => {
  const HOSTILE_IDS = [
    `U0'"; DROP TABLE decisions; --`,
    'U0BOB0002"',
    'U0BOB0002 ',
    'u0bob0002',
    '<@U0BOB0002>',
  ];

  it.each(HOSTILE_IDS)('%j is an unknown approver: refused privately, audited as typed, the request untouched', async (userId) => {
    const res = await h.command(`request prod-db read 1h INC-706 click from ${JSON.stringify(userId)}`.replace(/[<>&]/g, ''));
    const id = requestIdIn(res.body);
    await eventually(() => expect(cardFor(id)).toBeDefined());
    const logsBefore = h.logs().length;

    expect(await h.click('access_approve', id, userId)).toBe(200);

    await eventually(async () => {
      const refused = await h.sql`SELECT actor, details FROM audit_events WHERE request_id = ${id} AND action = 'decision.refused'`;
      expect(refused.map((r) => ({ actor: r.actor, code: (r.details as { code: string }).code }))).toEqual([{ actor: userId, code: 'NOT_AN_APPROVER' }]);
    });
    await eventually(() =>
      expect(h.slack.callsTo('chat.postEphemeral').filter((c) => c.args.user === userId).map((c) => String(c.args.text))).toEqual([
        expect.stringMatching(/not one of its approvers/),
      ]),
    );
    expect((await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]!.status).toBe('pending');
    expect(await h.sql`SELECT 1 FROM decisions WHERE request_id = ${id}`).toHaveLength(0);
    expect(h.logs().slice(logsBefore)).not.toMatch(/unhandled Slack listener error|use case failed|"level":50/);
    await expectHealthy();
  });
});
