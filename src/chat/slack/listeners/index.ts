/**
 * Thin Bolt listeners: ack within Slack's 3 seconds, read the payload, call one use case, render the result.
 * No policy or state logic here: commands.ts (`/access …`), actions.ts (buttons), views.ts (forms), and the
 * App Home below.
 */
import type { App } from '@slack/bolt';
import { requestableRoles } from '../../../domain/policy.js';
import type { UseCaseDeps } from '../../../use-cases/deps.js';
import { homeView } from '../home.js';
import { registerActions } from './actions.js';
import { registerCommands } from './commands.js';
import { registerViews } from './views.js';

export function registerSlackHandlers(app: App, deps: UseCaseDeps): void {
  registerCommands(app, deps);
  registerActions(app, deps);
  registerViews(app, deps);

  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    await client.views.publish({ user_id: event.user, view: homeView(requestableRoles(deps.policy.current(), event.user)) });
  });

  app.error(async (error) => {
    deps.log.error({ err: error }, 'unhandled Slack listener error');
  });
}
