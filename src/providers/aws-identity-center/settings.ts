/** The `provider: aws-sso` settings in the policy file, and the provider definition built from them. */
import { z } from 'zod';
import type { ProviderDefinition } from '../definition.js';
import { AwsIdentityCenterProvider } from './provider.js';

/** Patterns from the Identity Center API reference. */
const INSTANCE_ARN = /^arn:aws(-[a-z]{1,5}){0,3}:sso:::instance\/((sso)?ins-[a-zA-Z0-9-.]{16})$/;
const PERMISSION_SET_ARN = /^arn:aws(-[a-z]{1,5}){0,3}:sso:::permissionSet\/((sso)?ins-[a-zA-Z0-9-.]{16})\/ps-[a-zA-Z0-9-./]{16}$/;
const ACCOUNT_ID = /^\d{12}$/;

const settingsSchema = z.object({
  region: z
    .string({ error: (iss) => (iss.input === undefined ? 'required: the region of the Identity Center instance, like eu-west-1' : undefined) })
    .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, { error: (iss) => `${JSON.stringify(iss.input)} is not an AWS region; write one like eu-west-1` }),
  instance_arn: z
    .string({
      error: (iss) => (iss.input === undefined ? 'required: the ARN of the Identity Center instance (arn:aws:sso:::instance/ssoins-…)' : undefined),
    })
    .regex(INSTANCE_ARN, { error: (iss) => `${JSON.stringify(iss.input)} is not an Identity Center instance ARN (arn:aws:sso:::instance/ssoins-…)` }),
  account_id: z
    .string({
      error: (iss) =>
        iss.input === undefined
          ? 'required: the 12-digit id of the AWS account to assign'
          : typeof iss.input === 'number'
            ? 'write the account id in quotes ("012345678901"): unquoted, YAML reads it as a number and drops leading zeros'
            : undefined,
    })
    .regex(ACCOUNT_ID, { error: 'must be a 12-digit AWS account id' }),
  permission_sets: z
    .record(
      z.string().min(1, { error: 'a grant name cannot be empty' }),
      z.string().regex(PERMISSION_SET_ARN, {
        error: (iss) => `${JSON.stringify(iss.input)} is not a permission set ARN (arn:aws:sso:::permissionSet/ssoins-…/ps-…)`,
      }),
      { error: (iss) => (iss.input === undefined ? 'required: grant name → permission set ARN' : undefined) },
    )
    .refine((p) => Object.keys(p).length > 0, { error: 'list at least one permission set' }),
  /** Only accessbot assigns these permission sets to users directly in this account: enables drift detection. */
  exclusive_user_assignments: z.boolean({ error: 'must be true or false' }).optional(),
});

/**
 * `provider: aws-sso` in the policy:
 *
 *   region: eu-west-1
 *   instance_arn: arn:aws:sso:::instance/ssoins-1234567890abcdef
 *   account_id: "123456789012"
 *   permission_sets:
 *     admin: arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef
 *   exclusive_user_assignments: true   # optional: only accessbot assigns these to users here (drift detection)
 *
 * with the requesters' Identity Center user ids under the policy's `principals:`.
 */
export const awsIdentityCenterProvider: ProviderDefinition = {
  name: 'aws-sso',
  shape: settingsSchema.shape,
  envNames: () => [],
  create(settings, _env, path) {
    const parsed = settingsSchema.safeParse(settings);
    if (!parsed.success) throw new Error(`${path}: invalid aws-sso settings: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    const { region, instance_arn: instanceArn, account_id: accountId, permission_sets: permissionSets, exclusive_user_assignments } = parsed.data;
    const instance = INSTANCE_ARN.exec(instanceArn)?.[2];
    const foreign = Object.entries(permissionSets).filter(([, arn]) => PERMISSION_SET_ARN.exec(arn)?.[2] !== instance);
    if (foreign.length > 0) {
      const names = foreign.map(([name]) => name).join(', ');
      throw new Error(`${path}.permission_sets: ${names} belong to another instance than instance_arn (${instance ?? '?'})`);
    }
    return new AwsIdentityCenterProvider({ region, instanceArn, accountId, permissionSets, exclusiveUserAssignments: exclusive_user_assignments === true });
  },
};
