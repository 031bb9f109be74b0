/**
 * Health endpoints: `/healthz` says the process is up; `/readyz` says it can do its job (PostgreSQL and Redis
 * answer within a second). Served by Bolt's custom routes in web processes and by a bare server in workers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface ReadinessProbe {
  name: string;
  check(): Promise<unknown>;
}

const PROBE_TIMEOUT_MS = 1_000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    work.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}

export async function readiness(probes: ReadinessProbe[]): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const results = await Promise.all(
    probes.map(async (p) => {
      try {
        await withTimeout(p.check(), PROBE_TIMEOUT_MS);
        return [p.name, 'ok'] as const;
      } catch {
        // Only the fact, never the driver's message: it can carry host names or credentials.
        return [p.name, 'unreachable'] as const;
      }
    }),
  );
  return { ready: results.every(([, s]) => s === 'ok'), checks: Object.fromEntries(results) };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export function healthRoutes(probes: ReadinessProbe[]) {
  return [
    { path: '/healthz', method: ['GET'], handler: (_req: IncomingMessage, res: ServerResponse) => send(res, 200, { ok: true }) },
    {
      path: '/readyz',
      method: ['GET'],
      handler: (_req: IncomingMessage, res: ServerResponse) => {
        void readiness(probes).then((r) => send(res, r.ready ? 200 : 503, r));
      },
    },
  ];
}

/** A bare health server for processes that run no Slack receiver (workers). */
export async function startHealthServer(port: number, probes: ReadinessProbe[]): Promise<Server> {
  const routes = healthRoutes(probes);
  const server = createServer((req, res) => {
    const route = routes.find((r) => r.path === req.url && req.method === 'GET');
    if (route) route.handler(req, res);
    else send(res, 404, { ok: false });
  });
  await new Promise<void>((resolve) => server.listen(port, resolve));
  return server;
}
