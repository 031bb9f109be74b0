/**
 * The replay guard's middleware and error handler, with a fake signature store: what it does for each kind of
 * Slack request when the timestamp is off, when the signature was seen, and when the store fails or hangs
 * (fail closed, with an answer at once). The real app and database are in test/e2e/hostile-http.test.ts.
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import {
  answerRefusals,
  requestGuard,
  SlackRequestRefused,
  UNAVAILABLE_TEXT,
  type SignatureStore,
} from '../../src/chat/slack/request-guard.js';

const NOW_MS = 1_722_950_461_000;
const NOW_S = NOW_MS / 1000;
const SIG = `v0=${'ab'.repeat(32)}`;

function logger() {
  const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

type Kind = 'command' | 'action' | 'view' | 'event';
const BODIES: Record<Kind, Record<string, unknown>> = {
  command: { command: '/access', text: 'request prod-db read 1h x' },
  action: { type: 'block_actions', actions: [{}], user: { id: 'U0BOB0002' }, channel: { id: 'C0APPROVE1' } },
  view: { type: 'view_submission', view: {} },
  event: { type: 'event_callback', event: { type: 'app_home_opened' } },
};

async function run(store: SignatureStore, kind: Kind, timestamp: number | null = NOW_S, options = {}) {
  const { log, lines } = logger();
  const next = vi.fn(async () => undefined);
  const ack = vi.fn(async () => undefined);
  const postEphemeral = vi.fn(async () => ({ ok: true }));
  const args = {
    client: { chat: { postEphemeral } },
    body: BODIES[kind],
    context: { slackSignature: SIG, slackRequestTimestamp: timestamp === null ? undefined : String(timestamp) },
    next,
    ...(kind === 'event' ? {} : { ack }),
  };
  const guard = requestGuard(store, log, { now: () => NOW_MS, ...options });
  const outcome = await (guard as (a: unknown) => Promise<void>)(args).then(
    () => null,
    (error: unknown) => error,
  );
  return { outcome, next, ack, lines, postEphemeral };
}

const fresh: SignatureStore = { claim: async () => true };
const seen: SignatureStore = { claim: async () => false };
const down: SignatureStore = { claim: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')) };
const hung: SignatureStore = { claim: () => new Promise<boolean>(() => undefined) };

describe('requestGuard', () => {
  it.each(['command', 'action', 'view', 'event'] as Kind[])('lets a fresh %s with a current timestamp through', async (kind) => {
    const r = await run(fresh, kind);
    expect(r.outcome).toBeNull();
    expect(r.next).toHaveBeenCalledOnce();
  });

  it.each([
    ['5 minutes ahead', 300, true],
    ['5 minutes and 1 s ahead', 301, false],
    ['5 minutes behind', -300, true],
    ['5 minutes and 1 s behind', -301, false],
  ])('a timestamp %s is %s', async (_label, offset, accepted) => {
    const r = await run(fresh, 'command', NOW_S + offset);
    expect(r.next).toHaveBeenCalledTimes(accepted ? 1 : 0);
    if (!accepted) expect(r.outcome).toMatchObject({ status: 401, reason: 'timestamp' });
  });

  it('refuses a replayed command, click or form with 401 and never calls next()', async () => {
    for (const kind of ['command', 'action', 'view'] as Kind[]) {
      const r = await run(seen, kind);
      expect(r.outcome).toBeInstanceOf(SlackRequestRefused);
      expect(r.outcome).toMatchObject({ status: 401, reason: 'replay' });
      expect(r.next).not.toHaveBeenCalled();
      expect(r.ack).not.toHaveBeenCalled();
      const warn = r.lines.find((l) => l.level === 'warn')!;
      expect(warn.obj).toMatchObject({ kind, reason: 'replay', signature: SIG.slice(0, 10) });
      expect(JSON.stringify(r.lines)).not.toContain(SIG);
    }
  });

  it('drops a replayed event (already answered 200 by Bolt) without throwing, logged at warn', async () => {
    const r = await run(seen, 'event');
    expect(r.outcome).toBeNull();
    expect(r.next).not.toHaveBeenCalled();
    expect(r.lines).toEqual([expect.objectContaining({ level: 'warn', obj: expect.objectContaining({ kind: 'event', reason: 'replay' }) })]);
  });

  it('refuses a request without the signature or timestamp in its context', async () => {
    const r = await run(fresh, 'action', null);
    expect(r.outcome).toMatchObject({ status: 401, reason: 'missing-headers' });
    expect(r.next).not.toHaveBeenCalled();
  });

  describe('fails closed when the store is unreachable, with an answer at once', () => {
    it.each([
      ['fails', down],
      ['hangs past the deadline', hung],
    ])('store %s: a command is acknowledged with a private "try again", nothing processed', async (_label, store) => {
      const r = await run(store, 'command', NOW_S, { claimDeadlineMs: 50 });
      expect(r.outcome).toBeNull();
      expect(r.next).not.toHaveBeenCalled();
      expect(r.ack).toHaveBeenCalledWith({ response_type: 'ephemeral', text: UNAVAILABLE_TEXT });
      expect(r.lines.map((l) => l.level)).toEqual(['error']);
    });

    it.each([
      ['fails', down],
      ['hangs past the deadline', hung],
    ])('store %s: a button click is acknowledged and the clicker told privately to try again, nothing processed', async (_label, store) => {
      const r = await run(store, 'action', NOW_S, { claimDeadlineMs: 50 });
      expect(r.outcome).toBeNull();
      expect(r.next).not.toHaveBeenCalled();
      expect(r.ack).toHaveBeenCalledWith();
      expect(r.postEphemeral).toHaveBeenCalledWith({ channel: 'C0APPROVE1', user: 'U0BOB0002', text: UNAVAILABLE_TEXT });
    });

    it.each([
      ['fails', down],
      ['hangs past the deadline', hung],
    ])('store %s: a form submission is refused with 503 (a modal shows errors only on its inputs)', async (_label, store) => {
      const r = await run(store, 'view', NOW_S, { claimDeadlineMs: 50 });
      expect(r.outcome).toMatchObject({ status: 503, reason: 'store-unavailable' });
      expect(r.next).not.toHaveBeenCalled();
      expect(r.ack).not.toHaveBeenCalled();
    });

    it('an event is dropped and logged at error', async () => {
      const r = await run(down, 'event');
      expect(r.outcome).toBeNull();
      expect(r.next).not.toHaveBeenCalled();
      expect(r.lines.map((l) => l.level)).toEqual(['error']);
    });
  });
});

describe('answerRefusals (the receiver processEventErrorHandler)', () => {
  function response() {
    const res = { headersSent: false, status: 0, ended: false, writeHead: (s: number) => ((res.status = s), res), end: () => ((res.ended = true), res) };
    return res;
  }
  const args = (error: Error, res: ReturnType<typeof response>) => {
    const { log } = logger();
    const boltLogger = { ...log, setLevel: () => undefined, getLevel: () => 'info', setName: () => undefined };
    return { error, response: res as unknown as ServerResponse, logger: boltLogger as never, request: {} as never, storedResponse: undefined };
  };

  it('writes the refusal status, also when Bolt wrapped the error, and reports it handled', async () => {
    for (const error of [new SlackRequestRefused(401, 'replay'), Object.assign(new Error('wrapped'), { original: new SlackRequestRefused(503, 'store-unavailable') })]) {
      const res = response();
      expect(await answerRefusals(args(error, res))).toBe(true);
      expect(res.status).toBe(error instanceof SlackRequestRefused ? 401 : 503);
      expect(res.ended).toBe(true);
    }
  });

  it("leaves any other error to Bolt's default handler (500)", async () => {
    const res = response();
    expect(await answerRefusals(args(new Error('boom'), res))).toBe(false);
    expect(res.status).toBe(500);
  });
});
