/**
 * One policy, one target and the fakes of every port, wired the way `app.ts` wires the real adapters, plus
 * the steps that bring a request to a given state through the use cases themselves (never by writing the
 * store directly), so every state a test starts from is one the product can reach.
 */
import { startGrant } from '../../src/domain/request.js';
import { ROLE_TIMING_DEFAULTS } from '../../src/domain/policy.js';
import { expect } from 'vitest';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import type { Policy } from '../../src/domain/policy.js';
import { activateGrant } from '../../src/use-cases/activate-grant.js';
import type { UseCaseDeps } from '../../src/use-cases/deps.js';
import { deliverNotification } from '../../src/use-cases/deliver-notification.js';
import { reviewRequest } from '../../src/use-cases/review-request.js';
import { submitRequest, type SubmitInput } from '../../src/use-cases/submit-request.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { FakeDirectory } from '../fakes/fake-directory.js';
import { FakeJobQueue } from '../fakes/fake-job-queue.js';
import { FakeLogger } from '../fakes/fake-logger.js';
import { FakeNotifier } from '../fakes/fake-notifier.js';
import { FakeProvider, FakeProviderRegistry } from '../fakes/fake-provider.js';
import { FakeRequestStore } from '../fakes/fake-request-store.js';

export const ALICE = 'U0ALICE01';
export const BOB = 'U0BOB0002';
export const CAROL = 'U0CAROL03';
export const DAVE = 'U0DAVE004';
export const ERIN = 'U0ERIN006';
export const MALLORY = 'U0MALL005';

export const APPROVERS_CHANNEL = 'C0APPROVE1';
export const ALICE_PRINCIPAL = 'alice.smith';
export const DAVE_PRINCIPAL = 'svc_dave';

export function testPolicy(): Policy {
  return {
    version: 1,
    admins: [],
    principals: { [DAVE]: DAVE_PRINCIPAL },
    resources: {
      'prod-db': {
        provider: 'postgres',
        settings: { connection: { env: 'PROD_DB_URL' } },
        principal: 'email-local-part',
        roles: {
          read: { grants: ['app_read'], maxDurationMs: 4 * HOUR, approvers: { users: [BOB, CAROL] }, approvals: 1, channel: APPROVERS_CHANNEL, ...ROLE_TIMING_DEFAULTS },
          // Alice approves writes too: she still cannot approve her own.
          write: {
            grants: ['app_read', 'app_write'],
            maxDurationMs: HOUR,
            approvers: { users: [ALICE, BOB, CAROL] },
            approvals: 2,
            channel: APPROVERS_CHANNEL,
            ...ROLE_TIMING_DEFAULTS,
          },
          admin: {
            grants: ['app_admin'],
            maxDurationMs: HOUR,
            approvers: { users: [BOB] },
            approvals: 1,
            channel: APPROVERS_CHANNEL,
            requesters: { users: [DAVE] },
            ...ROLE_TIMING_DEFAULTS,
          },
        },
      },
    },
  };
}

export interface World {
  deps: UseCaseDeps;
  policy: Policy;
  store: FakeRequestStore;
  queue: FakeJobQueue;
  target: FakeProvider;
  notifier: FakeNotifier;
  directory: FakeDirectory;
  clock: FakeClock;
  log: FakeLogger;
}

export function createWorld(): World {
  const policy = testPolicy();
  const clock = new FakeClock();
  const store = new FakeRequestStore(clock);
  const queue = new FakeJobQueue(clock);
  const target = new FakeProvider({ roles: ['app_read', 'app_write', 'app_admin'], principals: [ALICE_PRINCIPAL, DAVE_PRINCIPAL] });
  const notifier = new FakeNotifier([APPROVERS_CHANNEL]);
  const directory = new FakeDirectory()
    .add(ALICE, 'Alice.Smith@Example.com')
    .add(BOB, 'bob@example.com')
    .add(CAROL, 'carol@example.com')
    .add(DAVE, 'dave@example.com')
    .add(ERIN, null)
    .add(MALLORY, 'mallory@example.com');
  const log = new FakeLogger();
  let next = 0;
  const deps: UseCaseDeps = {
    store,
    queue,
    policy: { current: () => policy },
    providers: new FakeProviderRegistry({ 'prod-db': target }),
    directory,
    notifier,
    clock,
    log,
    newId: () => `req_${(++next).toString().padStart(4, '0')}`,
  };
  return { deps, policy, store, queue, target, notifier, directory, clock, log };
}

/** Typed with a number duration for the many tests that read it back; pass `durationMs: null` only to submit. */
export const readRequest = (over: Partial<SubmitInput> = {}): SubmitInput & { durationMs: number } => ({
  requesterId: ALICE,
  resource: 'prod-db',
  role: 'read',
  durationMs: 30 * MINUTE,
  reason: 'INC-4821 hotfix',
  ...over,
}) as SubmitInput & { durationMs: number };

export async function submitted(w: World, input: SubmitInput = readRequest()): Promise<string> {
  const result = await submitRequest(w.deps, input);
  if (!result.ok) throw new Error(`submit refused: ${result.error.code}`);
  return result.value.request.id;
}

/** Submitted and approved by as many approvers as the role needs. */
export async function approved(w: World, input: SubmitInput = readRequest()): Promise<string> {
  const id = await submitted(w, input);
  const needed = w.store.request(id).approvalsRequired;
  for (const approver of [BOB, CAROL].slice(0, needed)) {
    const result = await reviewRequest(w.deps, { requestId: id, deciderId: approver, outcome: 'approve', reason: null });
    if (!result.ok) throw new Error(`approval refused: ${result.error.code}`);
  }
  expect(w.store.request(id).status).toBe('approved');
  return id;
}

/** Approved, and claimed by a grant job that has not granted yet (the grace is over; a deny is refused). */
export async function claimed(w: World, input: SubmitInput = readRequest()): Promise<string> {
  const id = await approved(w, input);
  const claim = await w.store.apply(id, (s) => startGrant(s.request, w.clock.now()));
  if (!claim.ok) throw new Error(`claim refused: ${claim.error.code}`);
  return id;
}

/** Approved and granted: the window has started. */
export async function active(w: World, input: SubmitInput = readRequest()): Promise<string> {
  const id = await approved(w, input);
  expect(await activateGrant(w.deps, id, { finalAttempt: false })).toBe('activated');
  return id;
}

/** Redis flushed, or a process killed with its jobs: every queued job is gone; PostgreSQL still has it all. */
export function loseQueue(w: World): FakeJobQueue {
  w.queue = new FakeJobQueue(w.clock);
  w.deps.queue = w.queue;
  return w.queue;
}

/** Delivers every undelivered notification, oldest first, as the notify worker would. */
export async function deliverAll(w: World): Promise<void> {
  for (const id of w.store.undeliveredIds()) await deliverNotification(w.deps, id);
}

/** The kinds of the notifications a request has in the outbox, in order. */
export function outboxKinds(w: World, requestId: string): string[] {
  return w.store.outbox(requestId).map((n) => {
    const x = n.notification;
    return x.kind === 'notify-requester' ? `notify-requester:${x.notice}` : x.kind === 'alert-approvers' ? `alert-approvers:${x.alert}` : x.kind;
  });
}
