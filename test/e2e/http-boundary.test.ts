/**
 * Everything that reaches the app over HTTP, as Slack sends it: signatures (forged, stale, missing), commands
 * that do not parse or that the policy refuses, the request form and its submission, the App Home, URL
 * verification, health endpoints, and a check that no secret leaks into logs, chat or the audit trail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_MODAL, REQUEST_MODAL_CALLBACK } from '../../src/chat/slack/ids.js';
import { FakeSlack } from '../support/fake-slack.js';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';
import { fixtureJson, freshTriggerId, signedHeaders, slashCommandBody } from '../support/slack-signing.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('boundary');
});
afterAll(async () => {
  await h?.close();
});

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
const settle = (ms = 500) => new Promise((resolve) => setTimeout(resolve, ms));
/** What a person reads: Slack shows `&lt;` as `<`. */
const shown = (text: unknown) => String(text).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

const requestCount = async () => (await h.sql`SELECT count(*)::int AS n FROM access_requests`)[0]!.n as number;
const auditCount = async () => (await h.sql`SELECT count(*)::int AS n FROM audit_events`)[0]!.n as number;
const cardFor = (id: string) =>
  h.slack.callsTo('chat.postMessage').find((c) => c.args.channel === APPROVERS_CHANNEL && JSON.stringify(c.args).includes(id));
/** Calls the app made on its own behalf: Bolt checks its token with `auth.test` once, some time after start. */
const appCalls = () => h.slack.calls.filter((c) => c.method !== 'auth.test');
const dmsTo = (user: string, id: string) =>
  h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === user && JSON.stringify(c.args).includes(id));

function commandBody(text: string, extra: Record<string, string> = {}): string {
  return slashCommandBody({ text, user_id: USERS.alice, user_name: 'alice', response_url: h.slack.responseUrl('commands/alice'), ...extra });
}

async function readJson(res: Response): Promise<Record<string, any>> {
  const raw = await res.text();
  return raw ? (JSON.parse(raw) as Record<string, any>) : {};
}

describe('request signatures', () => {
  const nothingHappened = async (before: { calls: number; responses: number; requests: number; audit: number }) => {
    await settle();
    expect(appCalls().length).toBe(before.calls);
    expect(h.slack.responses.length).toBe(before.responses);
    expect(await requestCount()).toBe(before.requests);
    expect(await auditCount()).toBe(before.audit);
  };
  const snapshot = async () => ({ calls: appCalls().length, responses: h.slack.responses.length, requests: await requestCount(), audit: await auditCount() });

  it('a body signed with the wrong secret is refused with 401 and nothing is processed', async () => {
    const before = await snapshot();
    const body = commandBody('request prod-db read 1h INC-1 forged');
    const res = await h.post(body, signedHeaders('not-the-signing-secret', body, FORM));
    expect(res.status).toBe(401);
    await nothingHappened(before);
  });

  it('a correctly signed body changed after signing is refused with 401', async () => {
    const before = await snapshot();
    const signed = commandBody('request prod-db read 1h INC-1 original');
    const tampered = commandBody('request prod-db write 1h INC-1 tampered');
    const res = await h.post(tampered, signedHeaders(h.secrets.signingSecret, signed, FORM));
    expect(res.status).toBe(401);
    await nothingHappened(before);
  });

  it('a timestamp more than five minutes old is refused with 401, even when the signature matches', async () => {
    const before = await snapshot();
    const body = commandBody('request prod-db read 1h INC-1 stale');
    const res = await h.post(body, signedHeaders(h.secrets.signingSecret, body, FORM, Math.floor(Date.now() / 1000) - 6 * 60));
    expect(res.status).toBe(401);
    await nothingHappened(before);
  });

  it('a request without the signature headers is refused with 401', async () => {
    const before = await snapshot();
    const body = commandBody('request prod-db read 1h INC-1 unsigned');
    const res = await h.post(body, { 'content-type': FORM });
    expect(res.status).toBe(401);
    const onlyTimestamp = signedHeaders(h.secrets.signingSecret, body, FORM);
    delete onlyTimestamp['x-slack-signature'];
    expect((await h.post(body, onlyTimestamp)).status).toBe(401);
    await nothingHappened(before);
  });
});

describe('commands that do not parse', () => {
  const cases: [string, RegExp][] = [
    ['request prod-db', /the role is missing/i],
    ['request prod-db read', /the duration is missing/i],
    ['request prod-db read forever x', /"forever" is not a duration/i],
    ['request prod-db read 2h', /a reason is required/i],
    ['frobnicate', /unknown command "frobnicate"/i],
  ];
  for (const [text, problem] of cases) {
    it(`"/access ${text}" is answered privately with the problem and the usage, and creates nothing`, async () => {
      const before = await requestCount();
      const res = await h.command(text);
      expect(res.status).toBe(200);
      expect(res.body.response_type).toBe('ephemeral');
      const said = shown(JSON.stringify(res.body));
      expect(shown(res.body.text)).toMatch(problem);
      expect(said).toMatch(/usage/i);
      expect(said).toContain('/access request <resource> <role> <duration> <reason…>');
      expect(await requestCount()).toBe(before);
    });
  }
});

describe('user text quoted back', () => {
  it('is escaped, so a typed <!channel> is shown, never a ping', async () => {
    // Slack escapes command text (`<` arrives as `&lt;`); the reply quotes it back and must escape it again.
    const res = await h.command('&lt;!channel&gt; please');
    expect(res.body.response_type).toBe('ephemeral');
    expect(JSON.stringify(res.body)).not.toContain('<!channel>');
    expect(shown(res.body.text)).toContain('Unknown command "<!channel>"');
  });
});

describe('requests the policy refuses', () => {
  const refusals = async (code: string) =>
    (await h.sql`SELECT actor, details FROM audit_events WHERE action = 'request.refused' AND details->>'code' = ${code} ORDER BY id`).map((r) => ({
      actor: r.actor as string,
      details: r.details as Record<string, unknown>,
    }));

  it('an unknown resource is answered with the resources Alice may request, audited, and creates nothing', async () => {
    const before = await requestCount();
    const res = await h.command('request nope read 1h x');
    expect(res.status).toBe(200);
    expect(res.body.response_type).toBe('ephemeral');
    expect(shown(res.body.text)).toContain('There is no resource `nope`');
    expect(shown(res.body.text)).toContain('Resources you may request: `prod-db`');
    expect(await requestCount()).toBe(before);
    expect(await refusals('UNKNOWN_RESOURCE')).toEqual([
      { actor: USERS.alice, details: expect.objectContaining({ resource: 'nope', role: 'read', reason: 'x' }) },
    ]);
  });

  it('an unknown role is answered with the roles of the resource Alice may request, audited, and creates nothing', async () => {
    const before = await requestCount();
    const res = await h.command('request prod-db admin 1h x');
    expect(res.body.response_type).toBe('ephemeral');
    expect(shown(res.body.text)).toContain('`prod-db` has no role `admin`. Its roles you may request: `quick`, `read`, `write`');
    expect(await requestCount()).toBe(before);
    expect(await refusals('UNKNOWN_ROLE')).toEqual([{ actor: USERS.alice, details: expect.objectContaining({ resource: 'prod-db', role: 'admin' }) }]);
  });

  it('a duration over the role maximum names the maximum, is audited, and creates nothing', async () => {
    const before = await requestCount();
    const res = await h.command('request prod-db read 5h x');
    expect(res.status).toBe(200);
    expect(res.body.response_type).toBe('ephemeral');
    expect(shown(res.body.text)).toMatch(/maximum is 4h/);
    expect(await requestCount()).toBe(before);
    expect(await refusals('DURATION_TOO_LONG')).toEqual([
      { actor: USERS.alice, details: expect.objectContaining({ resource: 'prod-db', role: 'read', durationMs: 5 * 3_600_000 }) },
    ]);
  });
});

describe('/access help', () => {
  it('answers privately with the request syntax', async () => {
    const res = await h.command('help');
    expect(res.status).toBe(200);
    expect(res.body.response_type).toBe('ephemeral');
    const said = shown(JSON.stringify(res.body));
    expect(said).toContain('/access request <resource> <role> <duration> <reason…>');
    expect(said).toContain('/access request prod-db read 2h INC-4821 hotfix');
  });
});

describe('the request form', () => {
  /** The trigger of the last `/access request` sent by openForm: fresh each time, as Slack makes it. */
  let formTrigger = '';
  const opensTo = () => h.slack.callsTo('views.open').filter((c) => c.args.trigger_id === formTrigger);
  type View = { callback_id: string; blocks: { block_id?: string; element?: { options?: { value: string }[] } }[] };
  const viewOf = (call: { args: Record<string, unknown> }) => (typeof call.args.view === 'string' ? JSON.parse(call.args.view) : call.args.view) as View;

  /** Opens the form as Alice would, and returns the view Slack was asked to show. */
  async function openForm(): Promise<View> {
    formTrigger = freshTriggerId();
    const body = commandBody('request', { trigger_id: formTrigger });
    const res = await h.post(body, signedHeaders(h.secrets.signingSecret, body, FORM));
    expect(res.status).toBe(200);
    await res.text();
    await eventually(() => expect(opensTo().length).toBeGreaterThan(0));
    return viewOf(opensTo().at(-1)!);
  }

  /** The recorded view_submission envelope, for Alice submitting `view` with these inputs. */
  function submission(view: View, inputs: { role: string; duration: string; reason: string }): string {
    const p = fixtureJson('view-submission-rule-edit.json');
    p.user = { ...p.user, id: USERS.alice, username: 'alice', name: 'alice' };
    Object.assign(p.view, { id: 'V0REQFORM1', root_view_id: 'V0REQFORM1', callback_id: REQUEST_MODAL_CALLBACK, private_metadata: '', blocks: view.blocks });
    p.view.title.text = 'Request access';
    p.view.state.values = {
      [REQUEST_MODAL.roleBlock]: {
        [REQUEST_MODAL.roleAction]: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: inputs.role }, value: inputs.role } },
      },
      [REQUEST_MODAL.durationBlock]: { [REQUEST_MODAL.durationAction]: { type: 'plain_text_input', value: inputs.duration } },
      [REQUEST_MODAL.reasonBlock]: { [REQUEST_MODAL.reasonAction]: { type: 'plain_text_input', value: inputs.reason } },
    };
    return `payload=${encodeURIComponent(JSON.stringify(p))}`;
  }
  const submit = (body: string) => h.post(body, signedHeaders(h.secrets.signingSecret, body, FORM));
  const rowsWithReason = (reason: string) => h.sql`SELECT id, requester_id, resource, role, duration_seconds, status FROM access_requests WHERE reason = ${reason}`;

  it('"/access request" alone opens the modal with exactly the roles Alice may request, on the command trigger', async () => {
    const before = await requestCount();
    const view = await openForm();
    expect(opensTo()).toHaveLength(1);
    expect(view.callback_id).toBe(REQUEST_MODAL_CALLBACK);
    const roleInput = view.blocks.find((b) => b.block_id === REQUEST_MODAL.roleBlock);
    expect(roleInput?.element?.options?.map((o) => o.value)).toEqual(['prod-db/read', 'prod-db/write', 'prod-db/quick']);
    expect(await requestCount()).toBe(before);
  });

  it('a valid submission creates the request, DMs Alice its id and posts the card', async () => {
    const view = await openForm();
    const reason = 'INC-500 via the form';
    const res = await submit(submission(view, { role: 'prod-db/read', duration: '1h30m', reason }));
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({}); // the modal closes

    await eventually(async () => expect(await rowsWithReason(reason)).toHaveLength(1));
    const [row] = await rowsWithReason(reason);
    expect({ ...row, id: undefined }).toEqual({ id: undefined, requester_id: USERS.alice, resource: 'prod-db', role: 'read', duration_seconds: 5400, status: 'pending' });
    const id = row!.id as string;
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(1));
    await eventually(() => expect(cardFor(id)).toBeDefined());
    expect(JSON.stringify(FakeSlack.blocks(cardFor(id)!))).toContain(reason);
  });

  it('an invalid duration keeps the modal open with an error on the duration input, and creates nothing', async () => {
    const view = await openForm();
    const reason = 'INC-501 bad duration';
    const res = await submit(submission(view, { role: 'prod-db/read', duration: 'forever', reason }));
    expect(res.status).toBe(200);
    const body = await readJson(res);
    expect(body).toEqual({ response_action: 'errors', errors: { [REQUEST_MODAL.durationBlock]: expect.stringMatching(/not a duration/) } });
    await settle(200);
    expect(await rowsWithReason(reason)).toHaveLength(0);
  });

  it('a reason holding a NUL is refused on the reason input, and creates nothing', async () => {
    const view = await openForm();
    const res = await submit(submission(view, { role: 'prod-db/read', duration: '1h', reason: 'INC-503 \u0000 nul' }));
    expect(await readJson(res)).toEqual({ response_action: 'errors', errors: { [REQUEST_MODAL.reasonBlock]: 'the reason contains a NUL character; type plain text' } });
    expect(await h.sql`SELECT id FROM access_requests WHERE reason LIKE 'INC-503%'`).toHaveLength(0);
  });

  it('a submission whose work outlasts Slack’s 3 s closes the form in time, then DMs the receipt', async () => {
    const view = await openForm();
    const reason = 'INC-504 slow directory';
    // Alice's email lookup (users.info) is held: Slack has the call but does not answer yet.
    const release = h.slack.hold('users.info');
    const started = Date.now();
    const res = await submit(submission(view, { role: 'prod-db/read', duration: '1h', reason }));
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({}); // the form closes, not Slack's "trouble connecting"
    expect(await rowsWithReason(reason)).toHaveLength(0); // still working
    release();
    await eventually(async () => expect(await rowsWithReason(reason)).toHaveLength(1));
    const id = (await rowsWithReason(reason))[0]!.id as string;
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(1));
    expect(h.logs()).not.toMatch(/ERR_HTTP_HEADERS_SENT|An incoming HTTP request did not get acknowledged/);
  });

  it('a duration over the role maximum is refused on the duration input, naming the maximum', async () => {
    const view = await openForm();
    const reason = 'INC-502 too long';
    const res = await submit(submission(view, { role: 'prod-db/write', duration: '2h', reason }));
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({ response_action: 'errors', errors: { [REQUEST_MODAL.durationBlock]: expect.stringMatching(/maximum is 1h/) } });
    expect(await rowsWithReason(reason)).toHaveLength(0);
  });
});

describe('the App Home', () => {
  const homeEvent = (tab: 'home' | 'messages', eventId: string) => {
    const p = fixtureJson('event-app-home-opened.json');
    p.event.user = USERS.alice;
    p.event.tab = tab;
    p.event_id = eventId;
    p.event_time = Math.floor(Date.now() / 1000);
    return JSON.stringify(p);
  };
  const publishesTo = (user: string) => h.slack.callsTo('views.publish').filter((c) => c.args.user_id === user);

  it('opening the Home tab publishes a home view listing what Alice may request', async () => {
    const body = homeEvent('home', 'Ev0HOME0001');
    const res = await h.post(body, signedHeaders(h.secrets.signingSecret, body, JSON_TYPE));
    expect(res.status).toBe(200);
    await eventually(() => expect(publishesTo(USERS.alice)).toHaveLength(1));
    const raw = publishesTo(USERS.alice)[0]!.args.view;
    const view = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { type: string; blocks: unknown[] };
    expect(view.type).toBe('home');
    const text = JSON.stringify(view.blocks);
    expect(text).toMatch(/`prod-db` \*read\* — up to 4h/);
    expect(text).toMatch(/`prod-db` \*write\* — up to 1h/);
  });

  it('opening the Messages tab publishes nothing', async () => {
    const before = h.slack.callsTo('views.publish').length;
    const body = homeEvent('messages', 'Ev0HOME0002');
    const res = await h.post(body, signedHeaders(h.secrets.signingSecret, body, JSON_TYPE));
    expect(res.status).toBe(200);
    await settle();
    expect(h.slack.callsTo('views.publish')).toHaveLength(before);
  });
});

describe('URL verification and health', () => {
  it('a signed url_verification is answered with the challenge', async () => {
    const fixture = fixtureJson('url-verification.json');
    const body = JSON.stringify(fixture);
    const res = await h.post(body, signedHeaders(h.secrets.signingSecret, body, JSON_TYPE));
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({ challenge: fixture.challenge });
  });

  it('an unsigned url_verification is refused', async () => {
    const body = JSON.stringify(fixtureJson('url-verification.json'));
    expect((await h.post(body, { 'content-type': JSON_TYPE })).status).toBe(401);
  });

  it('GET /healthz is 200 and GET /readyz reports the database and Redis ok', async () => {
    const live = await fetch(`${h.baseUrl()}/healthz`);
    expect(live.status).toBe(200);
    await live.text();
    const ready = await fetch(`${h.baseUrl()}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { database: 'ok', redis: 'ok' } });
  });
});

describe('secrets', () => {
  it('after a full request, approve and grant, no secret appears in the logs, in chat, or in the audit trail', async () => {
    const id = requestIdIn((await h.command('request prod-db read 1h INC-600 secrets check')).body);
    await eventually(() => expect(cardFor(id)).toBeDefined());
    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(async () => expect(await h.target.hasRole(h.target.principal, h.target.roles.read)).toBe(true));
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(1));

    const secrets = { botToken: h.secrets.botToken, signingSecret: h.secrets.signingSecret, targetPassword: h.target.botPassword };
    const logs = h.logs();
    expect(logs).toContain(id); // the log did record this flow
    // The token may reach Slack as the credential itself (Bolt's `auth.test` sends it as the `token` argument);
    // it must never be inside anything the app says.
    const chat = JSON.stringify([h.slack.calls.map((c) => ({ ...c, args: { ...c.args, token: undefined } })), h.slack.responses]);
    const audit = JSON.stringify(await h.sql`SELECT * FROM audit_events`);
    expect(audit).toContain(id);
    for (const [name, value] of Object.entries(secrets)) {
      expect({ name, inLogs: logs.includes(value), inChat: chat.includes(value), inAudit: audit.includes(value) }).toEqual({
        name,
        inLogs: false,
        inChat: false,
        inAudit: false,
      });
    }
    expect(logs).not.toContain(h.target.botUrl);
  });
});
