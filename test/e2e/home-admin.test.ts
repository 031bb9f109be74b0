/**
 * The admins' rule editor in the App Home, end to end, as Slack sends it: the rule form submitted as a signed
 * `view_submission` (the recorded shape, `test/fixtures/slack/view-submission-rule-edit.json`), and the
 * "Download policy" click. A valid edit is a new stored policy version in force at once; an invalid one is
 * answered in the form, keyed by the block, and stores nothing; a non-admin is refused and audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_POLICY_DOWNLOAD, ACTION_RULE_DELETE, ACTION_RULE_EDIT, RULE_MODAL_CALLBACK } from '../../src/chat/slack/ids.js';
import { APPROVERS_CHANNEL, USERS, eventually, startHarness, type Harness } from '../support/harness.js';
import { blockActionsBody, fixtureJson, signedHeaders } from '../support/slack-signing.js';

const ADMIN = 'U0ADMIN03';
const FORM = 'application/x-www-form-urlencoded';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('homeadmin');
});
afterAll(async () => {
  await h?.close();
});

/** The form's fields as Slack sends them in `view.state.values` (action id `value` throughout). */
interface Fields {
  max_duration: string;
  approvals: string;
  approvers: string[];
  channel: string;
  grants: string;
}

const readFields = (): Fields => ({
  max_duration: '4h',
  approvals: '1',
  approvers: [USERS.bob, USERS.carol],
  channel: APPROVERS_CHANNEL,
  grants: h.target.roles.read,
});

async function submitRuleForm(user: string, metadata: object, fields: Fields): Promise<{ status: number; body: Record<string, any> | null }> {
  const p = fixtureJson('view-submission-rule-edit.json');
  p.user = { ...p.user, id: user, username: user.toLowerCase(), name: user.toLowerCase() };
  p.view.callback_id = RULE_MODAL_CALLBACK;
  p.view.private_metadata = JSON.stringify(metadata);
  p.view.state = {
    values: {
      max_duration: { value: { type: 'plain_text_input', value: fields.max_duration } },
      approvals: { value: { type: 'plain_text_input', value: fields.approvals } },
      approvers: { value: { type: 'multi_users_select', selected_users: fields.approvers } },
      channel: { value: { type: 'conversations_select', selected_conversation: fields.channel } },
      grants: { value: { type: 'plain_text_input', value: fields.grants } },
    },
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(p))}`;
  const res = await h.post(body, signedHeaders(h.secrets.signingSecret, body, FORM));
  const raw = await res.text();
  return { status: res.status, body: raw ? (JSON.parse(raw) as Record<string, any>) : null };
}

/** A click in the App Home (container `view`, no channel, no response_url), built from the recorded click. */
async function clickInHome(user: string, actionId: string, value: string): Promise<void> {
  const body = blockActionsBody((p) => {
    const homeEvent = fixtureJson('event-app-home-opened.json');
    p.user = { ...p.user, id: user, username: user.toLowerCase(), name: user.toLowerCase() };
    p.container = { type: 'view', view_id: homeEvent.event.view.id };
    p.view = { ...homeEvent.event.view, blocks: [] };
    delete p.channel;
    delete p.message;
    delete p.response_url;
    p.actions = [{ type: 'button', action_id: actionId, value, block_id: 'home_admin_actions', text: { type: 'plain_text', text: 'x' }, action_ts: String(Date.now() / 1000) }];
    p.state = { values: {} };
  });
  const res = await h.post(body, signedHeaders(h.secrets.signingSecret, body, FORM));
  expect(res.status).toBe(200);
  await res.text();
}

const versions = () => h.sql`SELECT id, source, applied_by, text FROM policy_versions ORDER BY id`;
const auditOf = (action: string) => h.sql`SELECT actor, details FROM audit_events WHERE action = ${action} ORDER BY id`;
const readRole = { resource: 'prod-db', role: 'read' };

describe('the admins’ rule editor', () => {
  it('a valid edit (max_duration 4h → 2h) stores a new version, audits it, republishes the Home and is in force for the next request', async () => {
    const before = await versions();
    expect(before.map((v) => v.source)).toEqual(['file']);
    const publishes = h.slack.callsTo('views.publish').filter((c) => c.args.user_id === ADMIN).length;
    const res = await submitRuleForm(ADMIN, readRole, { ...readFields(), max_duration: '2h' });
    expect(res.status).toBe(200);
    expect(res.body).toBeNull();
    const after = await versions();
    expect(after).toHaveLength(2);
    expect(after[1]).toMatchObject({ source: 'home', applied_by: ADMIN });
    expect(after[1]!.text).toMatch(/read:\n\s+grants: .*\n\s+max_duration: 2h\n/);
    expect(after[1]!.text).toMatch(/write:\n(.*\n)*?\s+max_duration: 1h\n/); // other roles untouched
    const applied = await auditOf('policy.applied');
    expect(applied.at(-1)).toMatchObject({ actor: ADMIN, details: { source: 'home', version: after[1]!.id } });
    await eventually(() => expect(h.slack.callsTo('views.publish').filter((c) => c.args.user_id === ADMIN).length).toBeGreaterThan(publishes));

    const refused = await h.command('request prod-db read 3h INC-1 after the edit');
    expect(JSON.stringify(refused.body)).toContain('the maximum is 2h');
  });

  it('an invalid edit (max_duration "forever") is answered in the form on its block and stores nothing', async () => {
    const before = await versions();
    const res = await submitRuleForm(ADMIN, readRole, { ...readFields(), max_duration: 'forever' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ response_action: 'errors' });
    expect(Object.keys(res.body!.errors)).toEqual(['max_duration']);
    expect(res.body!.errors.max_duration).toMatch(/forever|duration/i);
    expect(await versions()).toHaveLength(before.length);
  });

  it('an error the parser names on another field goes on that field (an approver that is no user id)', async () => {
    const before = await versions();
    const res = await submitRuleForm(ADMIN, readRole, { ...readFields(), approvers: ['bob'] });
    expect(Object.keys(res.body?.errors ?? {})).toEqual(['approvers']);
    expect(await versions()).toHaveLength(before.length);
  });

  it('a non-admin’s submission is refused in the form, audited, and changes nothing', async () => {
    const before = await versions();
    const res = await submitRuleForm(USERS.bob, readRole, { ...readFields(), max_duration: '8h' });
    expect(res.body).toMatchObject({ response_action: 'errors' });
    expect(Object.values(res.body!.errors).join(' ')).toContain('Only policy admins');
    expect(await versions()).toHaveLength(before.length);
    const refused = await auditOf('policy.edit-refused');
    expect(refused.at(-1)).toMatchObject({ actor: USERS.bob, details: { change: 'edit', resource: 'prod-db', role: 'read' } });
  });

  it('Edit in the Home opens the rule form for that role', async () => {
    const before = h.slack.callsTo('views.open').length;
    await clickInHome(ADMIN, ACTION_RULE_EDIT, JSON.stringify(readRole));
    await eventually(() => expect(h.slack.callsTo('views.open').length).toBeGreaterThan(before));
    const raw = h.slack.callsTo('views.open').at(-1)!.args.view;
    const view = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { callback_id: string; private_metadata: string; blocks: any[] };
    expect(view.callback_id).toBe(RULE_MODAL_CALLBACK);
    expect(JSON.parse(view.private_metadata)).toEqual(readRole);
    expect(view.blocks.find((b) => b.block_id === 'max_duration').element.initial_value).toBe('2h');
  });

  it('Download policy DMs the admin the YAML in force, in a code block', async () => {
    const [latest] = (await versions()).slice(-1);
    const dms = () => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === ADMIN);
    const before = dms().length;
    await clickInHome(ADMIN, ACTION_POLICY_DOWNLOAD, 'download');
    await eventually(() => expect(dms().length).toBeGreaterThan(before));
    const sent = dms().slice(before).map((c) => JSON.stringify(c.args)).join('\n');
    expect(sent).toContain(`Policy version ${latest!.id} (in force)`);
    expect(sent).toContain('```');
    expect(sent).toContain('max_duration: 2h');
    expect(sent).toContain('admins: [ U0ADMIN03 ]');
  });

  it('Download policy is refused to a non-admin', async () => {
    const dms = () => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === USERS.bob);
    const before = dms().length;
    await clickInHome(USERS.bob, ACTION_POLICY_DOWNLOAD, 'download');
    await eventually(() => expect(dms().length).toBeGreaterThan(before));
    const sent = dms().slice(before).map((c) => JSON.stringify(c.args)).join('\n');
    expect(sent).toContain('Only policy admins');
    expect(sent).not.toContain('max_duration');
  });

  it('Delete (confirmed in Slack) removes the role as a new version and tells the admin', async () => {
    const before = await versions();
    const dms = () => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === ADMIN);
    const sentBefore = dms().length;
    await clickInHome(ADMIN, ACTION_RULE_DELETE, JSON.stringify({ resource: 'prod-db', role: 'quick' }));
    await eventually(() => expect(dms().length).toBeGreaterThan(sentBefore));
    expect(JSON.stringify(dms().at(-1)!.args)).toContain('Deleted the role quick of prod-db');
    const after = await versions();
    expect(after).toHaveLength(before.length + 1);
    expect(after.at(-1)!.text).not.toContain('quick:');
    expect(after.at(-1)!.text).toContain('max_duration: 2h');
    const refused = await h.command('request prod-db quick 30m INC-2 deleted role');
    expect(JSON.stringify(refused.body)).toMatch(/quick/);
    expect(JSON.stringify(refused.body)).not.toMatch(/req_[a-z0-9]+/);
  });
});
