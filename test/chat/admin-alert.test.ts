/** The admins' drift DM: pure, names what was removed and why, and escapes whatever the target named. */
import { describe, expect, it } from 'vitest';
import { adminAlert } from '../../src/chat/slack/blocks.js';
import type { AdminAlert } from '../../src/use-cases/ports.js';

const at = new Date('2025-08-06T12:00:00.000Z');
const drift = (over: Partial<AdminAlert> = {}): AdminAlert => ({
  kind: 'drift-revoked',
  resource: 'payments-k8s',
  principal: 'alice@example.com',
  grant: 'edit',
  requestId: 'req_abc2345678',
  requestStatus: 'revoked',
  at,
  ...over,
});

const body = (alert: AdminAlert): string => JSON.stringify(adminAlert(alert).blocks);

describe('adminAlert', () => {
  it('says what was found and removed, and which request it outlived', () => {
    const message = adminAlert(drift());
    expect(message.text).toBe('Drift found and removed: edit for alice@example.com on payments-k8s.');
    expect(body(drift())).toContain('*Drift found and removed*: `edit` for `alice@example.com` on `payments-k8s`');
    expect(body(drift())).toContain('request `req_abc2345678` is revoked');
    expect(body(drift())).toContain(`<!date^${at.getTime() / 1000}^`);
  });

  it('explains a membership no request covers, and an unknown request', () => {
    expect(body(drift({ requestId: null, requestStatus: null }))).toContain('no open request of that account covers it');
    expect(body(drift({ requestStatus: null }))).toContain('which accessbot has no record of');
  });

  it('escapes names from the target, in the fallback text too', () => {
    const hostile = drift({ principal: '<!channel> `x`', grant: 'a*b' });
    expect(adminAlert(hostile).text).not.toContain('<!channel>');
    expect(body(hostile)).not.toContain('<!channel>');
    expect(adminAlert(drift())).toEqual(adminAlert(drift()));
  });
});
