/** Kubernetes API errors as provider errors: safe text, permanent or retryable. */
import { PermanentProviderError } from '../../use-cases/ports.js';

/** Kubernetes status codes that retrying cannot fix (bad input, no such namespace, no right to bind). */
const PERMANENT_STATUSES = new Set([400, 401, 403, 404, 405, 422]);
const MAX_MESSAGE = 300;

export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && 'body' in error && typeof code === 'number' ? code : undefined;
}

/**
 * A safe error: the API server's status, reason and message (they name the binding, the role and the bot's
 * identity, never a token). Network errors keep only their code: their text carries the server's URL. The
 * SDK error is never passed on: its message repeats the response headers.
 */
export function kubernetesError(error: unknown, context: string): Error {
  if (error instanceof PermanentProviderError) return error;
  const status = statusOf(error);
  if (status !== undefined) {
    const { reason, message } = parseStatus((error as { body?: unknown }).body);
    const text = message && message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
    const summary = `${context}: Kubernetes answered ${status}${reason ? ` ${reason}` : ''}${text ? `: ${text}` : ''}`;
    return PERMANENT_STATUSES.has(status) ? new PermanentProviderError(summary) : new Error(summary);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return new Error(`${context}: network error ${code}`);
  return new Error(`${context}: ${error instanceof Error ? error.name : typeof error} (no answer from Kubernetes)`);
}

/** The SDK hands a failed call's body over as text: a `Status` object, when the API server wrote it. */
function parseStatus(body: unknown): { reason?: string; message?: string } {
  try {
    const status: unknown = typeof body === 'string' ? JSON.parse(body) : body;
    if (typeof status !== 'object' || status === null) return {};
    const { reason, message } = status as { reason?: unknown; message?: unknown };
    return {
      ...(typeof reason === 'string' ? { reason } : {}),
      ...(typeof message === 'string' ? { message } : {}),
    };
  } catch {
    return {};
  }
}
