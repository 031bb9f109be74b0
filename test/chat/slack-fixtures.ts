/** Shared by the Slack renderer tests: a request snapshot builder and the checks a fake Slack would make. */
import { expect } from 'vitest';
import type { types } from '@slack/bolt';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import type { AccessRequest, Decision } from '../../src/domain/request.js';
import type { RequestSnapshot } from '../../src/use-cases/ports.js';
import type { SlackMessage } from '../../src/chat/slack/blocks.js';
import {
  BLOCKS_PER_MESSAGE_MAX,
  BUTTON_TEXT_MAX,
  CONFIRM_BUTTON_MAX,
  CONFIRM_TEXT_MAX,
  CONFIRM_TITLE_MAX,
  SECTION_FIELD_MAX,
  SECTION_TEXT_MAX,
} from '../../src/chat/slack/limits.js';

export const ALICE = 'U0ALICE01';
export const BOB = 'U0BOB0002';
export const CAROL = 'U0CAROL03';
export const T0 = new Date('2024-08-06T13:20:00Z');
export const later = (ms: number): Date => new Date(T0.getTime() + ms);

/** How a date renders in a message: `<!date^unix^…|iso>`. */
export const dateToken = (at: Date): string => `<!date^${Math.floor(at.getTime() / 1000)}^`;

export function request(patch: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: 'req_8f3a2c',
    extendsId: null,
    escalateAt: null,
    escalatedAt: null,
    escalationChannel: null,
    status: 'pending',
    version: 1,
    platform: 'slack',
    requesterId: ALICE,
    principal: 'alice',
    resource: 'prod-db',
    role: 'read',
    grants: ['pg_read_all_data'],
    durationMs: 2 * HOUR,
    reason: 'INC-4821 hotfix',
    approvalsRequired: 1,
    channel: 'C0APPROVE1',
    createdAt: T0,
    pendingUntil: later(24 * HOUR),
    remindAt: later(4 * HOUR),
    remindedAt: null,
    warnBeforeMs: 15 * MINUTE,
    warnedAt: null,
    decidedAt: null,
    grantAfter: null,
    grantStartedAt: null,
    grantedAt: null,
    expiresAt: null,
    revokedAt: null,
    revokeReason: null,
    revokedBy: null,
    revokeNote: null,
    revokeAttempts: 0,
    lastError: null,
    flags: [],
    autoApprovedBy: null,
    acknowledgedBy: null,
    acknowledgedAt: null,
    ...patch,
  };
}

export function snapshot(patch: Partial<AccessRequest> = {}, decisions: Decision[] = []): RequestSnapshot {
  return { request: request(patch), decisions };
}

export const approve = (approverId: string, at = later(MINUTE)): Decision => ({ approverId, outcome: 'approve', reason: null, at });
export const deny = (approverId: string, reason: string | null, at = later(MINUTE)): Decision => ({ approverId, outcome: 'deny', reason, at });

/** Every piece of text a person can see in a block, in order. */
export function blockTexts(block: types.KnownBlock): string[] {
  switch (block.type) {
    case 'section': {
      const accessory = block.accessory?.type === 'button' ? [block.accessory.text.text] : [];
      return [block.text?.text ?? '', ...(block.fields ?? []).map((f) => f.text), ...accessory];
    }
    case 'context':
      return block.elements.map((e) => ('text' in e && typeof e.text === 'string' ? e.text : ''));
    case 'input':
      return [block.label.text, block.hint?.text ?? ''];
    case 'actions':
      return block.elements.map((e) => (e.type === 'button' ? e.text.text : ''));
    default:
      return [];
  }
}

export function visible(message: { blocks: types.KnownBlock[] }): string {
  return message.blocks.flatMap(blockTexts).join('\n');
}

export function ofType<T extends types.KnownBlock['type']>(message: SlackMessage, type: T): Extract<types.KnownBlock, { type: T }>[] {
  return message.blocks.filter((b): b is Extract<types.KnownBlock, { type: T }> => b.type === type);
}

/** Every button in a message, in actions blocks or as a section's accessory. */
export function buttons(message: SlackMessage): types.Button[] {
  return message.blocks.flatMap((b): types.Button[] => {
    if (b.type === 'actions') return b.elements.filter((e): e is types.Button => e.type === 'button');
    if (b.type === 'section' && b.accessory?.type === 'button') return [b.accessory];
    return [];
  });
}

/** The checks a fake Slack would make (style rule 13), for any message we render. */
export function expectWithinSlackLimits(message: SlackMessage): void {
  expect(message.text.trim()).not.toBe('');
  expect(message.blocks.length).toBeLessThanOrEqual(BLOCKS_PER_MESSAGE_MAX);
  const blockIds = message.blocks.flatMap((b) => (b.block_id ? [b.block_id] : []));
  expect(new Set(blockIds).size).toBe(blockIds.length);
  for (const block of ofType(message, 'section')) {
    expect(block.text?.text.length ?? 0).toBeLessThanOrEqual(SECTION_TEXT_MAX);
    for (const field of block.fields ?? []) expect(field.text.length).toBeLessThanOrEqual(SECTION_FIELD_MAX);
  }
  for (const block of ofType(message, 'context')) {
    for (const el of block.elements) if ('text' in el && typeof el.text === 'string') expect(el.text.length).toBeLessThanOrEqual(SECTION_TEXT_MAX);
  }
  for (const block of ofType(message, 'actions')) {
    const ids = block.elements.map((e) => ('action_id' in e ? e.action_id : undefined));
    expect(new Set(ids).size).toBe(ids.length);
  }
  for (const b of buttons(message)) {
    expect(b.text.text.length).toBeLessThanOrEqual(BUTTON_TEXT_MAX);
    if (b.confirm) {
      expect(b.confirm.title?.text.length ?? 0).toBeLessThanOrEqual(CONFIRM_TITLE_MAX);
      expect(b.confirm.text.text.length).toBeLessThanOrEqual(CONFIRM_TEXT_MAX);
      expect(b.confirm.confirm?.text.length ?? 0).toBeLessThanOrEqual(CONFIRM_BUTTON_MAX);
      expect(b.confirm.deny?.text.length ?? 0).toBeLessThanOrEqual(CONFIRM_BUTTON_MAX);
    }
  }
}
