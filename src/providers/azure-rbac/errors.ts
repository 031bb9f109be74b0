/** Azure SDK errors as provider errors: safe text, permanent or retryable. */
import { PermanentProviderError } from '../../use-cases/ports.js';

/** A RestError of the Azure SDK, recognised by shape (its package is not one of ours to import). */
interface RestErrorLike {
  name: 'RestError';
  statusCode?: number;
  code?: string;
  message: string;
}

function asRestError(error: unknown): RestErrorLike | undefined {
  return error instanceof Error && error.name === 'RestError' ? (error as unknown as RestErrorLike) : undefined;
}

export function statusOf(error: unknown): number | undefined {
  return asRestError(error)?.statusCode;
}

/** ARM's `error.code` from the response body, e.g. `RoleAssignmentExists`, `AuthorizationFailed`. */
export function errorCode(error: unknown): string | undefined {
  return asRestError(error)?.code;
}

/** What retrying cannot fix: a bad request, a missing scope or role, a bot without the right. */
const PERMANENT_STATUSES = new Set([400, 401, 403, 404, 405, 422]);
const MAX_MESSAGE = 300;
/**
 * A safe error: ARM's status, code and message (they name ids and scopes, never credentials). Network and
 * credential errors keep only their code or name: their text can carry hosts, tenant details or tokens.
 * The SDK error is never passed on as `cause`: it holds the request, headers included.
 */
export function azureError(error: unknown, context: string): Error {
  if (error instanceof PermanentProviderError) return error;
  const rest = asRestError(error);
  if (rest?.statusCode !== undefined) {
    const text = rest.message.length > MAX_MESSAGE ? `${rest.message.slice(0, MAX_MESSAGE)}…` : rest.message;
    const message = `${context}: Azure answered ${rest.statusCode}${rest.code ? ` ${rest.code}` : ''}: ${text}`;
    return PERMANENT_STATUSES.has(rest.statusCode) ? new PermanentProviderError(message) : new Error(message);
  }
  if (rest?.code && /^[A-Z_]+$/.test(rest.code)) return new Error(`${context}: network error ${rest.code}`);
  return new Error(`${context}: ${error instanceof Error ? error.name : typeof error} (no answer from Azure)`);
}

/** A retryable failure wins: the retry redoes everything, and all of it is idempotent. */
export function throwFirst(failures: Error[]): void {
  const failure = failures.find((f) => !(f instanceof PermanentProviderError)) ?? failures[0];
  if (failure) throw failure;
}
