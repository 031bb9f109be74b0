/**
 * What the use cases need from the outside world. Each port is named for the domain; vendor types never
 * cross it. Fakes of these live in `test/fakes`; the real adapters in `store/`, `jobs/`, `chat/`, `providers/`.
 *
 * Where things are (src/use-cases/ports/):
 * - store.ts: the system of record (`RequestStore`) and what it reads and returns
 * - notifications.ts: the outbox's chat notifications and which effect owes one
 * - queue.ts: background work (`JobQueue`)
 * - providers.ts: the target systems (`AccessProvider`, `ProviderRegistry`) and what a grant is about
 * - chat.ts: chat users and messages (`IdentityDirectory`, `ChatNotifier`, cards, admin alerts)
 * - policy.ts: the policy in force and its stored versions (`PolicySource`, `PolicyVersions`)
 * - runtime.ts: the clock and the logger
 */
export type { AccessOnRecord, ApplyOutcome, RecentAuditEntry, RequestSnapshot, RequestStore } from './ports/store.js';
export { notificationFor, type Notification } from './ports/notifications.js';
export type { JobQueue } from './ports/queue.js';
export {
  PermanentProviderError,
  targetOf,
  type AccessProvider,
  type GrantedObject,
  type GrantTarget,
  type LoginCredentials,
  type ProviderCheck,
  type ProviderRegistry,
} from './ports/providers.js';
export { PermanentChatError } from './ports/chat.js';
export type {
  AdminAlert,
  AnyAdminAlert,
  BreakGlassAlert,
  CardRef,
  ChatNotifier,
  IdentityDirectory,
  RequesterDmRef,
  StalledRevokesAlert,
  UndeliverableAlert,
} from './ports/chat.js';
export type { PolicyApplyResult, PolicyOrigin, PolicySource, PolicyVersions, StoredPolicy } from './ports/policy.js';
export type { Clock, Logger } from './ports/runtime.js';
