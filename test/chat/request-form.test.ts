/** The request form: the duration may be left empty only when every role offered has a default. */
import type { types } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { requestModal } from '../../src/chat/slack/blocks.js';
import { REQUEST_MODAL } from '../../src/chat/slack/ids.js';

const durationInput = (view: types.ModalView) => view.blocks.find((b) => b.block_id === REQUEST_MODAL.durationBlock) as types.InputBlock;
const optionTexts = (view: types.ModalView) =>
  ((view.blocks.find((b) => b.block_id === REQUEST_MODAL.roleBlock) as types.InputBlock).element as types.StaticSelect).options?.map((o) => o.text.text);

describe('requestModal and default durations', () => {
  it('keeps the duration required when a role has no default', () => {
    const view = requestModal([
      { resource: 'prod-db', role: 'read', maxDurationMs: 4 * 3_600_000, defaultDurationMs: 3_600_000 },
      { resource: 'prod-db', role: 'write', maxDurationMs: 3_600_000 },
    ]);
    expect(durationInput(view).optional).toBe(false);
    expect(optionTexts(view)).toEqual(['prod-db / read (default 1h, max 4h)', 'prod-db / write (max 1h)']);
  });

  it('lets it be left empty when every role has one, and says so', () => {
    const view = requestModal([{ resource: 'prod-db', role: 'read', maxDurationMs: 4 * 3_600_000, defaultDurationMs: 3_600_000 }]);
    expect(durationInput(view).optional).toBe(true);
    expect(durationInput(view).hint?.text).toMatch(/leave empty for the role’s default/);
  });
});
