/**
 * The system of record. This file is the single source of the schema: `npm run db:generate` (drizzle-kit)
 * writes the SQL migrations in `migrations/`, which are reviewed and committed like code and never edited
 * once merged.
 */
import { sql } from 'drizzle-orm';
import { bigserial, boolean, check, index, integer, jsonb, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const accessRequests = pgTable(
  'access_requests',
  {
    id: text('id').primaryKey(),
    /** An extension request points at the grant it extends. */
    extendsId: text('extends_id'),
    status: text('status').notNull(),
    /** Compare-and-swap token: every saved transition increments it. */
    version: integer('version').notNull(),
    platform: text('platform').notNull(),
    requesterId: text('requester_id').notNull(),
    principal: text('principal').notNull(),
    resource: text('resource').notNull(),
    role: text('role').notNull(),
    /** What will be granted, frozen at submit time: approvers approve exactly this. */
    grants: jsonb('grants').$type<string[]>().notNull(),
    durationSeconds: integer('duration_seconds').notNull(),
    reason: text('reason').notNull(),
    approvalsRequired: integer('approvals_required').notNull(),
    channel: text('channel').notNull(),
    createdAt: ts('created_at').notNull(),
    /** Undecided by then, the request expires. The default only serves rows older than the column. */
    pendingUntil: ts('pending_until').notNull().default(sql`now() + interval '24 hours'`),
    remindAt: ts('remind_at'),
    remindedAt: ts('reminded_at'),
    escalateAt: ts('escalate_at'),
    escalatedAt: ts('escalated_at'),
    escalationChannel: text('escalation_channel'),
    warnBeforeSeconds: integer('warn_before_seconds').notNull().default(0),
    warnedAt: ts('warned_at'),
    decidedAt: ts('decided_at'),
    /** An approved request's grant starts no earlier than this (the approval grace, in which a deny still wins). */
    grantAfter: ts('grant_after'),
    /** When the grant job claimed the request; from then on a deny no longer overrides the approval. */
    grantStartedAt: ts('grant_started_at'),
    revokeAttempts: integer('revoke_attempts').notNull().default(0),
    lastError: text('last_error'),
    /** Risk flags raised at submit, `[{ code, reason }]`; null for rows older than the policy engine. */
    flags: jsonb('flags').$type<{ code: string; reason: string }[]>(),
    /** The auto-approve rule that approved the request; null when people decided. */
    autoApprovedBy: text('auto_approved_by'),
    /** Who acknowledged a break-glass grant, and when; null until then, and for every other request. */
    acknowledgedBy: text('acknowledged_by'),
    acknowledgedAt: ts('acknowledged_at'),
    /** When the revoke watchdog told the admins this grant's revoke is not progressing; null: never (once per request). */
    stalledAlertedAt: ts('stalled_alerted_at'),
    updatedAt: ts('updated_at').notNull().default(sql`now()`),
  },
  (t) => [
    index('access_requests_status_idx').on(t.status),
    index('access_requests_requester_idx').on(t.requesterId),
    index('access_requests_extends_idx').on(t.extendsId),
  ],
);

/** One approver's decision; the unique index makes a second decision by the same person impossible. */
export const decisions = pgTable(
  'decisions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    requestId: text('request_id').notNull().references(() => accessRequests.id),
    approverId: text('approver_id').notNull(),
    outcome: text('outcome').notNull(),
    reason: text('reason'),
    decidedAt: ts('decided_at').notNull(),
  },
  (t) => [uniqueIndex('decisions_request_approver_uq').on(t.requestId, t.approverId)],
);

/** The grant on the target: its window, and what the principal already held before we touched it. */
export const grants = pgTable(
  'grants',
  {
    requestId: text('request_id').primaryKey().references(() => accessRequests.id),
    resource: text('resource').notNull(),
    principal: text('principal').notNull(),
    /** Grants the principal held before this one; never revoked by us. */
    preExisting: jsonb('pre_existing').$type<string[]>().notNull(),
    grantedAt: ts('granted_at'),
    expiresAt: ts('expires_at'),
    revokedAt: ts('revoked_at'),
    revokeReason: text('revoke_reason'),
    /** Who asked for an early revoke, and why. */
    revokedBy: text('revoked_by'),
    revokeNote: text('revoke_note'),
  },
  (t) => [index('grants_expires_idx').on(t.expiresAt), index('grants_principal_idx').on(t.resource, t.principal)],
);

/** Where each approval card lives, so it can be updated in place. */
export const chatMessages = pgTable(
  'chat_messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    requestId: text('request_id').notNull().references(() => accessRequests.id),
    platform: text('platform').notNull(),
    channel: text('channel').notNull(),
    messageId: text('message_id').notNull(),
    createdAt: ts('created_at').notNull().default(sql`now()`),
  },
  (t) => [uniqueIndex('chat_messages_card_uq').on(t.requestId, t.platform, t.channel)],
);

/**
 * The requester's DMs that offer actions on their grant (Revoke now, Extend: the "granted", "expiring soon" and
 * "extended" notices), so the actions can be taken off in place once the grant ends. Unlike cards there are
 * several per request in the same DM channel, so one row per message; each keeps what it showed when posted
 * (an extension moves the request's window later) and whether it carried a login. `ended_at`: when its
 * actions were taken off; null while they are still shown.
 */
export const requesterMessages = pgTable(
  'requester_messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    requestId: text('request_id').notNull().references(() => accessRequests.id),
    platform: text('platform').notNull(),
    channel: text('channel').notNull(),
    messageId: text('message_id').notNull(),
    notice: text('notice').notNull(),
    shownExpiresAt: ts('shown_expires_at'),
    shownDurationSeconds: integer('shown_duration_seconds').notNull(),
    withLogin: boolean('with_login').notNull().default(false),
    createdAt: ts('created_at').notNull().default(sql`now()`),
    endedAt: ts('ended_at'),
  },
  (t) => [
    uniqueIndex('requester_messages_message_uq').on(t.platform, t.channel, t.messageId),
    index('requester_messages_open_idx').on(t.requestId).where(sql`ended_at IS NULL`),
  ],
);

/**
 * The outbox: chat messages a transition owes, written in the same transaction as the state change and
 * delivered by a worker. Nothing is lost if the process dies after the commit.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    requestId: text('request_id').notNull().references(() => accessRequests.id),
    payload: jsonb('payload').notNull(),
    createdAt: ts('created_at').notNull().default(sql`now()`),
    deliveredAt: ts('delivered_at'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    /**
     * Set when chat refused the notification for good (a deleted channel, a deactivated user: `PermanentChatError`)
     * and delivery gave it up; `abandon_reason` is the platform's code. Never delivered, never listed again.
     */
    abandonedAt: ts('abandoned_at'),
    abandonReason: text('abandon_reason'),
  },
  (t) => [index('notifications_undelivered_idx').on(t.createdAt).where(sql`delivered_at IS NULL AND abandoned_at IS NULL`)],
);

/** Append-only (a trigger refuses UPDATE and DELETE): every step and every refused attempt. */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: ts('at').notNull().default(sql`now()`),
    requestId: text('request_id'),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    details: jsonb('details').notNull(),
  },
  (t) => [index('audit_events_request_idx').on(t.requestId)],
);

/**
 * Who has opened the bot's App Home, and when last: the Home is republished on a state change only for these
 * people, so a change never makes the bot publish a Home nobody has looked at. One row per person, upserted.
 */
export const homeViews = pgTable('home_views', {
  userId: text('user_id').primaryKey(),
  openedAt: ts('opened_at').notNull(),
});

/**
 * Signatures of the Slack requests already accepted, kept for the 5-minute window in which Slack's signature
 * stays valid: a signed request replayed byte for byte finds its signature here and is refused. Rows older than
 * the window are deleted by the next insert.
 */
export const slackRequestSignatures = pgTable(
  'slack_request_signatures',
  {
    signature: text('signature').primaryKey(),
    receivedAt: ts('received_at').notNull().default(sql`now()`),
  },
  (t) => [index('slack_request_signatures_received_idx').on(t.receivedAt)],
);

/**
 * Every policy ever applied, from the file at start-up, the Home tab or the CLI. Append-only (a trigger refuses
 * UPDATE and DELETE); the row with the highest id is the policy in force. `text` is the YAML exactly as applied.
 */
export const policyVersions = pgTable(
  'policy_versions',
  {
    /** The version number people see (`v12`). */
    id: serial('id').primaryKey(),
    text: text('text').notNull(),
    /** Hex SHA-256 of `text`: a version is stored only when it differs from the one in force. */
    sha256: text('sha256').notNull(),
    /** A Slack user id, or `file` / `cli` (the CLI's $USER when known). */
    appliedBy: text('applied_by').notNull(),
    source: text('source').notNull(),
    appliedAt: ts('applied_at').notNull().default(sql`now()`),
    /** A short line diff against the previous version (every line added, for the first). */
    diff: text('diff').notNull(),
  },
  (t) => [check('policy_versions_source_check', sql`${t.source} IN ('file', 'home', 'cli')`)],
);
