/** `accessbot provider check` for the aws-iam provider: reads, never writes. */
import { GetUserCommand, SimulatePrincipalPolicyCommand, type IAMClient } from '@aws-sdk/client-iam';
import type { ProviderCheck } from '../../use-cases/ports.js';
import { CheckReport, listText, uniqueGrants } from '../check.js';
import { awsErrorCode, describeAwsError } from './errors.js';
import { policyDocument, type PolicyStatement, type PrincipalType } from './policy-document.js';

/** What the check reads of the provider it runs for. */
export interface AwsIamCheckContext {
  client: IAMClient;
  type: PrincipalType;
  policies: ReadonlyMap<string, readonly PolicyStatement[]>;
}

/**
 * Read-only (`accessbot provider check`). The grants must name templates that fit IAM's inline-policy
 * quota. The credentials must resolve: `iam:GetUser` without a name answers for the calling user, and its
 * AccessDenied names the caller (this SDK set has no STS client for GetCallerIdentity). Then IAM's policy
 * simulator (`iam:SimulatePrincipalPolicy` on the bot itself) is asked about Put/Get/Delete<Type>Policy on
 * every user (or role) of the account. A denial there is a warning, not a failure: a bot allowed only on
 * its managed principals (a path, a list) is denied "every user" too. Nothing is written.
 */
export async function checkAwsIam(self: AwsIamCheckContext, grants: string[]): Promise<ProviderCheck> {
  const report = new CheckReport();
  const limit = self.type === 'user' ? 2_048 : 10_240;
  const found: string[] = [];
  for (const grant of uniqueGrants(grants)) {
    const statements = self.policies.get(grant);
    if (!statements) {
      report.fail(`no policy template "${grant}" in this resource's policies: list it there or fix the role's grants`);
      continue;
    }
    const size = JSON.stringify(policyDocument([[grant, statements]], new Date())).length;
    if (size > limit) report.fail(`policy template "${grant}" makes a ${size}-character policy; IAM allows ${limit} characters of inline policy per ${self.type}`);
    else found.push(`"${grant}"`);
  }
  if (found.length > 0) report.ok(`policy templates ${found.join(', ')} are defined`);

  let arn: string | undefined;
  try {
    const out = await self.client.send(new GetUserCommand({}));
    arn = out.User?.Arn;
    report.ok(`AWS credentials resolve to ${arn ?? 'an IAM user'}`);
  } catch (error) {
    const code = awsErrorCode(error);
    const message = error instanceof Error ? error.message : '';
    if (code === 'AccessDenied') {
      arn = /\b(arn:aws[a-z-]*:(?:iam|sts)::\d{12}:[\w+=,.@/-]+)/.exec(message)?.[1];
      report.ok(`AWS credentials resolve to ${arn ?? 'a principal'} (iam:GetUser is not allowed; only this check uses it)`);
    } else if (code === 'ValidationError') {
      report.ok('AWS credentials resolve to a role session');
    } else {
      return report.fail(`cannot use the AWS credentials: ${describeAwsError(error)}`).result();
    }
  }

  const kind = self.type === 'user' ? 'User' : 'Role';
  const actions = [`iam:Put${kind}Policy`, `iam:Get${kind}Policy`, `iam:Delete${kind}Policy`];
  const parts = /^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):(.+)$/.exec(arn ?? '');
  let source: string | undefined;
  if (parts?.[2] === 'iam' && /^(user|role)\//.test(parts[4] ?? '')) source = arn;
  else if (parts?.[2] === 'sts' && parts[4]?.startsWith('assumed-role/')) source = `arn:${parts[1]}:iam::${parts[3]}:role/${parts[4].split('/')[1]}`;
  if (parts?.[4] === 'root') report.warn("the bot uses the account's root credentials: give it an IAM user or role of its own");
  if (!parts || !source) {
    return report.warn(`could not verify permissions (${listText(actions)}): the bot's own IAM ARN is unknown`).result();
  }
  const everyone = `arn:${parts[1]}:iam::${parts[3]}:${self.type}/*`;
  try {
    const out = await self.client.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: source, ActionNames: actions, ResourceArns: [everyone] }));
    const allowed: string[] = [];
    for (const action of actions) {
      const decision = out.EvaluationResults?.find((r) => r.EvalActionName?.toLowerCase() === action.toLowerCase())?.EvalDecision ?? 'no answer';
      if (decision === 'allowed') allowed.push(action);
      else {
        report.warn(
          `${action} is not allowed on ${everyone} (${decision}): grant or revoke needs it on every principal of this resource; ` +
            `if the bot's policy names those ${self.type}s by path or name, check it covers them all`,
        );
      }
    }
    if (allowed.length > 0) report.ok(`${listText(allowed)} allowed on ${everyone} (IAM policy simulator)`);
  } catch (error) {
    const hint = awsErrorCode(error) === 'AccessDenied' ? `allow iam:SimulatePrincipalPolicy on ${source} for this check` : describeAwsError(error);
    report.warn(`could not verify permissions (${listText(actions)}): ${hint}`);
  }
  return report.result();
}
