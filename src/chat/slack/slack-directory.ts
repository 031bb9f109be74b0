/** `IdentityDirectory` over Slack's `users.info` (needs `users:read` and `users:read.email`). */
import type { WebClient } from '@slack/web-api';
import type { IdentityDirectory } from '../../use-cases/ports.js';

export class SlackDirectory implements IdentityDirectory {
  constructor(private readonly client: WebClient) {}

  async emailOf(userId: string): Promise<string | null> {
    const res = await this.client.users.info({ user: userId });
    const email = res.user?.profile?.email;
    return typeof email === 'string' && email.includes('@') ? email : null;
  }
}
