/**
 * Thin Bolt listeners: ack within Slack's 3 seconds, read the payload, call one use case, render the result.
 * No policy or state logic here: commands.ts (`/access …`), actions.ts (buttons), views.ts (forms), admin.ts (the
 * admins' rule editor in the App Home), and the App Home below.
 */
import type { App } from '@slack/bolt';
import type { UseCaseDeps } from '../../../use-cases/deps.js';
import { openHome } from '../../../use-cases/home-view.js';
import { refusalIn } from '../request-guard.js';
import { registerActions } from './actions.js';
import { registerAdmin } from './admin.js';
import { registerCommands } from './commands.js';
import { settle } from './replies.js';
import { registerViews } from './views.js';

export function registerSlackHandlers(app: App, deps: UseCaseDeps): void {
  registerCommands(app, deps);
  registerActions(app, deps);
  registerViews(app, deps);
  registerAdmin(app, deps);

  // Fired on every open of the Home and Messages tabs; only the Home tab has a view to publish.
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home') return;
    await settle(deps, () => openHome(deps, event.user), { user: event.user, home: 'opened' });
  });

  app.error(async (error) => {
    // The request guard's refusal is not a failure: rethrown, it reaches the receiver, which answers its status.
    if (refusalIn(error)) throw error;
    deps.log.error({ err: error }, 'unhandled Slack listener error');
  });
}
