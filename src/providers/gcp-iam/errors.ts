/**
 * Google API and auth errors as provider errors. No message built here contains the service-account key or
 * the access token: the library's error is read for its status and Google's own message, never passed on.
 */
import { PermanentProviderError } from '../../use-cases/ports.js';

/** HTTP statuses that retrying cannot fix: a bad role or member (400), no permission or no project (403, 404). */
const PERMANENT_STATUSES = new Set([400, 403, 404]);

export function statusOf(error: unknown): number | undefined {
  const e = error as { status?: unknown; response?: { status?: unknown } } | null;
  const status = e?.status ?? e?.response?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * An API or auth error as text that is safe to log and show: the HTTP status, Google's status name and its
 * message. Never the error itself: its `config` holds the request headers (the bearer token) and, for the
 * token endpoint, the signed assertion.
 */
export function describeGoogleError(error: unknown): string {
  const status = statusOf(error);
  if (status !== undefined) {
    const data = (error as { response?: { data?: unknown } }).response?.data;
    return `HTTP ${status}${detailOf(data)}`;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Za-z0-9_]+$/.test(code)) return `error ${code}`;
  return `unexpected error (${error instanceof Error ? error.name : typeof error})`;
}

/** `{ error: { status, message } }` from an API, `{ error, error_description }` from the token endpoint. */
function detailOf(data: unknown): string {
  if (typeof data !== 'object' || data === null) return '';
  const err = (data as { error?: unknown; error_description?: unknown }).error;
  if (typeof err === 'object' && err !== null) {
    const { status, message } = err as { status?: unknown; message?: unknown };
    return `${typeof status === 'string' ? ` ${status}` : ''}${typeof message === 'string' ? `: ${clip(message)}` : ''}`;
  }
  if (typeof err === 'string') {
    const description = (data as { error_description?: unknown }).error_description;
    return ` ${clip(err)}${typeof description === 'string' ? `: ${clip(description)}` : ''}`;
  }
  return '';
}

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** Never passes the library error on as `cause`: it holds the request, with its credentials. */
export function providerError(error: unknown, context: string): Error {
  if (error instanceof PermanentProviderError) return error;
  const message = `${context}: ${describeGoogleError(error)}`;
  const status = statusOf(error);
  return status !== undefined && PERMANENT_STATUSES.has(status) ? new PermanentProviderError(message) : new Error(message);
}
