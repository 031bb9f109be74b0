/** AWS SDK errors, shared with the aws-iam-managed and Identity Center providers. */
import { PermanentProviderError } from '../../use-cases/ports.js';

const THROTTLING = new Set(['Throttling', 'TooManyRequests', 'RequestLimitExceeded', 'RequestThrottled', 'SlowDown']);
const IAM_PERMANENT = new Set([
  'AccessDenied',
  'NoSuchEntity', // on put: the user or role does not exist (on get and delete it means "nothing there")
  'MalformedPolicyDocument',
  'LimitExceeded', // the principal's inline policy size quota
  'InvalidInput',
  'UnmodifiableEntity', // a service-linked role
  'ValidationError',
]);

interface ServiceErrorLike {
  name: string;
  message: string;
  Code?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata: { httpStatusCode?: number };
}

function serviceError(error: unknown): ServiceErrorLike | undefined {
  const isService = error instanceof Error && typeof (error as { $metadata?: unknown }).$metadata === 'object';
  return isService ? (error as unknown as ServiceErrorLike) : undefined;
}

/** The error code without the SDK's `Exception` suffix (`NoSuchEntityException` → `NoSuchEntity`). */
export function awsErrorCode(error: unknown): string | undefined {
  const e = serviceError(error);
  if (!e) return undefined;
  const code = typeof e.Code === 'string' ? e.Code : e.name;
  return code.replace(/Exception$/, '');
}

/** Throttling, a server fault, or no answer at all (network, timeout, credentials): worth another try. */
export function isTransientAwsError(error: unknown): boolean {
  const e = serviceError(error);
  if (!e) return true;
  const status = e.$metadata.httpStatusCode ?? 0;
  return Boolean(e.$retryable) || e.$fault === 'server' || status >= 500 || status === 429 || THROTTLING.has(awsErrorCode(e) ?? '');
}

/**
 * An SDK error as text that is safe to log and show: the code, the HTTP status and AWS's message (which
 * names the resource and the caller's ARN, never credentials), or for a failure without an answer its name.
 */
export function describeAwsError(error: unknown): string {
  const e = serviceError(error);
  if (e) return `${awsErrorCode(e) ?? e.name} (HTTP ${e.$metadata.httpStatusCode ?? '?'}): ${clip(e.message)}`;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${clip(error.message)}`;
  }
  return `unexpected error (${typeof error})`;
}

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 300 ? `${oneLine.slice(0, 300)}…` : oneLine;
}

/** Never passes the SDK error on as `cause`: it carries the raw response. */
export function iamError(error: unknown, context: string): Error {
  if (error instanceof PermanentProviderError) return error;
  const message = `${context}: ${describeAwsError(error)}`;
  return !isTransientAwsError(error) && IAM_PERMANENT.has(awsErrorCode(error) ?? '') ? new PermanentProviderError(message) : new Error(message);
}
