/**
 * A fake Slack at the HTTP boundary: the app's WebClient is pointed here with SLACK_API_URL, and the
 * `response_url`s in test payloads point here too. It records every call with its decoded arguments and
 * refuses what Slack refuses (unknown channels, more than 50 blocks, section text over 3,000 characters,
 * a message with neither text nor blocks), so a renderer that breaks a limit fails the test.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  /** What the fake answered (set once answered): e.g. the `channel` and `ts` of a posted message. */
  answer?: Record<string, unknown>;
}

export interface FakeUser {
  id: string;
  email?: string;
}

const MAX_BLOCKS = 50;
const MAX_SECTION_TEXT = 3000;

export class FakeSlack {
  readonly calls: SlackCall[] = [];
  readonly responses: { path: string; body: Record<string, unknown> }[] = [];
  private readonly users = new Map<string, FakeUser>();
  private readonly channels = new Set<string>();
  /** The DM channels (`D…`) handed out by posting to a user, where messages may then be updated like Slack allows. */
  private readonly dms = new Set<string>();
  /** Slack user groups (`S…`) and their members, for `usergroups.users.list`. */
  private readonly usergroups = new Map<string, string[]>();
  private server: Server | null = null;
  private ts = 1722950400;
  /** Methods made to fail with an HTTP status for the next N calls (429s and 500s). */
  private readonly failures = new Map<string, { status: number; remaining: number; retryAfter?: number }>();
  /** Methods whose calls are answered only once released (see `hold`). */
  private readonly held = new Map<string, Promise<void>>();
  url = '';

  addUser(user: FakeUser): this {
    this.users.set(user.id, user);
    return this;
  }

  /** A user group with these members (replacing an earlier list: what a membership change in Slack does). */
  setUsergroup(id: string, members: string[]): this {
    this.usergroups.set(id, [...members]);
    return this;
  }

  addChannel(id: string): this {
    this.channels.add(id);
    return this;
  }

  failNext(method: string, status: number, times: number, retryAfter?: number): void {
    this.failures.set(method, { status, remaining: times, ...(retryAfter === undefined ? {} : { retryAfter }) });
  }

  /**
   * A slow Slack: calls to `method` are recorded when they arrive (Slack has them) but answered only once the
   * returned function is called, so the app's call stays in flight until then. Calls after the release are
   * answered at once.
   */
  hold(method: string): () => void {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    this.held.set(method, gate);
    return () => {
      if (this.held.get(method) === gate) this.held.delete(method);
      release();
    };
  }

  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  responseUrl(label: string): string {
    return `${this.url}/hooks/${label}`;
  }

  callsTo(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Blocks of a call, parsed (the Web API sends them as a JSON string in a form field). */
  static blocks(call: SlackCall): Record<string, unknown>[] {
    const raw = call.args.blocks;
    if (raw === undefined) return [];
    return (typeof raw === 'string' ? JSON.parse(raw) : raw) as Record<string, unknown>[];
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body, headers }) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const raw = await readBody(req);
    const path = req.url ?? '';
    if (path.startsWith('/hooks/')) {
      this.responses.push({ path, body: JSON.parse(raw || '{}') as Record<string, unknown> });
      return { status: 200, body: { ok: true } };
    }
    const method = path.replace(/^\/api\//, '').split('?')[0] ?? '';
    const args = parseArgs(raw, req.headers['content-type'] ?? '');
    const failure = this.failures.get(method);
    if (failure && failure.remaining > 0) {
      failure.remaining -= 1;
      const headers: Record<string, string> = failure.retryAfter === undefined ? {} : { 'retry-after': String(failure.retryAfter) };
      return { status: failure.status, body: { ok: false, error: 'fake_failure' }, headers };
    }
    const call: SlackCall = { method, args };
    this.calls.push(call);
    const gate = this.held.get(method);
    if (gate) await gate;
    call.answer = this.answer(method, args);
    return { status: 200, body: call.answer };
  }

  private answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    const problem = this.refuse(method, args);
    if (problem) return { ok: false, error: problem };
    switch (method) {
      case 'auth.test':
        return { ok: true, user_id: 'U0BOT0001', bot_id: 'B0BOT0001', team_id: 'T0ACME001' };
      case 'users.info': {
        const user = this.users.get(String(args.user));
        if (!user) return { ok: false, error: 'user_not_found' };
        return { ok: true, user: { id: user.id, name: user.id.toLowerCase(), profile: user.email ? { email: user.email } : {} } };
      }
      case 'usergroups.users.list': {
        const members = this.usergroups.get(String(args.usergroup));
        if (!members) return { ok: false, error: 'no_such_subteam' };
        return { ok: true, users: members };
      }
      case 'chat.postMessage': {
        const dm = String(args.channel).startsWith('U') ? `D${String(args.channel).slice(1)}` : null;
        if (dm) this.dms.add(dm);
        return { ok: true, channel: dm ?? args.channel, ts: `${this.ts++}.000200`, message: {} };
      }
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: `${this.ts++}.000300` };
      case 'views.open':
      case 'views.publish':
        return { ok: true, view: { id: 'V0FAKE0001' } };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  private refuse(method: string, args: Record<string, unknown>): string | null {
    if (!method.startsWith('chat.')) return null;
    const channel = String(args.channel ?? '');
    const isUser = /^[UW]/.test(channel);
    if (!isUser && !this.channels.has(channel) && !this.dms.has(channel)) return 'channel_not_found';
    if (args.text === undefined && args.blocks === undefined) return 'no_text';
    const blocks = FakeSlack.blocks({ method, args });
    if (blocks.length > MAX_BLOCKS) return 'invalid_blocks';
    for (const b of blocks) {
      const text = (b.text as { text?: string } | undefined)?.text;
      if (b.type === 'section' && typeof text === 'string' && text.length > MAX_SECTION_TEXT) return 'invalid_blocks';
    }
    return null;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (data += chunk));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function parseArgs(raw: string, contentType: string): Record<string, unknown> {
  if (contentType.includes('application/json')) return JSON.parse(raw || '{}') as Record<string, unknown>;
  return Object.fromEntries(new URLSearchParams(raw));
}
