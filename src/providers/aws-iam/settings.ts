/** The `provider: aws-iam` settings in the policy file, and the provider definition built from them. */
import { z } from 'zod';
import type { ProviderDefinition } from '../definition.js';
import { AwsIamProvider } from './provider.js';

const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** An AWS region name (`us-east-1`, `us-gov-west-1`, `cn-north-1`). */
export const awsRegion = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, {
  error: (iss) => `${JSON.stringify(iss.input)} is not an AWS region; write one like us-east-1`,
});

const oneOrMore = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
  error: 'must be a string or a non-empty list of strings',
});
const conditionValue = z.union([z.string(), z.number(), z.boolean()]);
const STATEMENT_KEYS = 'Effect, Action or NotAction, Resource or NotResource, and Condition';

const statementSchema = z
  .strictObject(
    {
      Effect: z.enum(['Allow', 'Deny'], { error: 'must be Allow or Deny' }),
      Action: oneOrMore.optional(),
      NotAction: oneOrMore.optional(),
      Resource: oneOrMore.optional(),
      NotResource: oneOrMore.optional(),
      Condition: z.record(z.string().min(1), z.record(z.string().min(1), z.union([conditionValue, z.array(conditionValue)]))).optional(),
    },
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys'
          ? `a statement takes ${STATEMENT_KEYS} (Sid is set by accessbot; Principal does not belong in a user or role policy)`
          : undefined,
    },
  )
  .superRefine((s, ctx) => {
    if ((s.Action === undefined) === (s.NotAction === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of Action and NotAction' });
    }
    if ((s.Resource === undefined) === (s.NotResource === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of Resource and NotResource' });
    }
    for (const [operator, keys] of Object.entries(s.Condition ?? {})) {
      if (!/^datelessthan$/i.test(operator)) continue;
      if (Object.keys(keys).some((key) => /^aws:currenttime$/i.test(key))) {
        ctx.addIssue({
          code: 'custom',
          path: ['Condition', operator],
          message: 'accessbot sets DateLessThan aws:CurrentTime itself, to the end of each grant; remove it here',
        });
      }
    }
  });

const templateName = z.string().regex(TEMPLATE_NAME, {
  error: (iss) => `${JSON.stringify(iss.input)} is not a valid template name; use letters, digits, _ . - (at most 63 characters)`,
});

const settingsSchema = z.object({
  region: awsRegion.default('us-east-1'),
  principal_type: z.enum(['user', 'role'], { error: 'must be user or role' }).default('user'),
  policies: z
    .record(templateName, z.array(statementSchema).min(1, { error: 'a template needs at least one statement' }), {
      error: (iss) => (iss.input === undefined ? 'required: the policy templates that roles grant (name: [statements])' : undefined),
    })
    .refine((p) => Object.keys(p).length > 0, { error: 'define at least one policy template' }),
});

/**
 * `provider: aws-iam` in the policy:
 *
 *   region: us-east-1          # default
 *   principal_type: user       # or role; default user
 *   policies:
 *     s3-read:
 *       - Effect: Allow
 *         Action: [s3:GetObject, s3:ListBucket]
 *         Resource: [arn:aws:s3:::prod-data, arn:aws:s3:::prod-data/*]
 *
 * and roles grant template names (`grants: [s3-read]`).
 */
export const awsIamProvider: ProviderDefinition = {
  name: 'aws-iam',
  shape: settingsSchema.shape,
  envNames: () => [],
  create(settings, _env, path) {
    const parsed = settingsSchema.safeParse(settings);
    if (!parsed.success) throw new Error(`${path}: invalid aws-iam settings: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    const { region, principal_type: principalType, policies } = parsed.data;
    return new AwsIamProvider({ region, principalType, policies });
  },
};
