/** Identity Center (SSO admin) errors as provider errors: permanent or worth another try. */
import { PermanentProviderError } from '../../use-cases/ports.js';
import { awsErrorCode, describeAwsError, isTransientAwsError } from '../aws-iam/errors.js';

const SSO_PERMANENT = new Set(['AccessDenied', 'Validation', 'ServiceQuotaExceeded', 'ResourceNotFound']);

/** Never passes the SDK error on as `cause`: it carries the raw response. */
export function ssoError(error: unknown, context: string): Error {
  if (error instanceof PermanentProviderError) return error;
  if (error instanceof Error && error.message.startsWith(context)) return error;
  const message = `${context}: ${describeAwsError(error)}`;
  return !isTransientAwsError(error) && SSO_PERMANENT.has(awsErrorCode(error) ?? '') ? new PermanentProviderError(message) : new Error(message);
}
