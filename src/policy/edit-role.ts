/**
 * Editing one role of a policy text, for the App Home editor: (text, change) → new text, or why not. Pure. The
 * YAML is edited with the Document API, so comments, key order and the style of everything else survive; only
 * the changed role's common keys are set (or the role removed). yaml writes the document back in its own
 * layout for flow collections (`[ a, b ]`, `{ users: [ U1 ] }`); block layout, key order and comments stay. Whether the result is a valid policy is not
 * checked here: `PolicyVersions.apply` validates it with the file's own parser. A role that shares YAML nodes
 * with other parts of the file (anchors `&name`, aliases `*name`) is refused: an edit in place would change
 * every role that refers to them, unseen in the diff; such a file is edited as a file.
 */
import { isAlias, isMap, isNode, isScalar, isSeq, parseDocument, visit, type Document, type Node } from 'yaml';

/** The common fields of a role, as typed in the form (the file's own vocabulary). */
export interface RoleFields {
  /** `4h`, `30m`…; validated by the policy parser. */
  maxDuration: string;
  /** Typed text: a whole number is written as a number, anything else as typed (the parser then refuses it); empty removes the key. */
  approvals: string;
  approvers: string[];
  channel: string;
  grants: string[];
}

export type RoleChange =
  | { kind: 'edit'; resource: string; role: string; fields: RoleFields }
  | { kind: 'add'; resource: string; role: string; fields: RoleFields }
  | { kind: 'delete'; resource: string; role: string };

/** Which part of the form a refusal concerns: `resource` / `role` (the add form), else the form as a whole. */
export type EditField = 'resource' | 'role' | 'general';
export type EditResult = { ok: true; text: string } | { ok: false; field: EditField; message: string };

const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function editRole(text: string, change: RoleChange): EditResult {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) return { ok: false, field: 'general', message: 'the policy in force is not valid YAML; fix it with `accessbot policy apply`' };
  const roles = doc.getIn(['resources', change.resource, 'roles'], true);
  if (!isMap(doc.getIn(['resources', change.resource], true)) || !isMap(roles)) {
    return { ok: false, field: 'resource', message: `the policy has no resource "${change.resource}" (it may have been changed meanwhile)` };
  }
  const exists = roles.has(change.role);
  const rolePath = ['resources', change.resource, 'roles', change.role];
  const shared = sharedThroughAnchors(doc, rolePath);
  if (shared) {
    return {
      ok: false,
      field: 'general',
      message: `${change.resource}: the role "${change.role}" ${shared} YAML anchors or aliases (&name / *name), so a change here could change other roles too; edit the policy file itself and apply it with \`accessbot policy apply <file>\``,
    };
  }
  switch (change.kind) {
    case 'delete':
      if (!exists) return { ok: false, field: 'role', message: `${change.resource} has no role "${change.role}" (it may have been removed meanwhile)` };
      if (roles.items.length <= 1) {
        return { ok: false, field: 'role', message: `"${change.role}" is the last role of ${change.resource}; a resource needs at least one role, so remove the resource in the policy file instead` };
      }
      doc.deleteIn(rolePath);
      return written(doc);
    case 'add': {
      if (!ROLE_NAME.test(change.role)) {
        return { ok: false, field: 'role', message: 'use letters, digits, _ . - for a role name (starting with a letter or digit, at most 63 characters)' };
      }
      if (exists) return { ok: false, field: 'role', message: `${change.resource} already has a role "${change.role}"; edit it instead` };
      const f = change.fields;
      const approvals = approvalsValue(f.approvals);
      doc.setIn(
        rolePath,
        doc.createNode({
          grants: f.grants,
          max_duration: f.maxDuration.trim(),
          approvers: { users: f.approvers },
          ...(approvals === undefined ? {} : { approvals }),
          channel: f.channel.trim(),
        }),
      );
      flowLists(doc, rolePath);
      return written(doc);
    }
    case 'edit': {
      if (!exists || !isMap(doc.getIn(rolePath, true))) {
        return { ok: false, field: 'general', message: `${change.resource} has no role "${change.role}" (it may have been removed meanwhile)` };
      }
      const f = change.fields;
      setScalar(doc, [...rolePath, 'max_duration'], f.maxDuration.trim());
      const approvals = approvalsValue(f.approvals);
      if (approvals === undefined) doc.deleteIn([...rolePath, 'approvals']);
      else setScalar(doc, [...rolePath, 'approvals'], approvals);
      // `approvers` keeps any other keys it has; only its users are replaced.
      const approvers = doc.getIn([...rolePath, 'approvers'], true);
      if (isMap(approvers) && f.approvers.length === 0 && approvers.items.length > 1) doc.deleteIn([...rolePath, 'approvers', 'users']);
      else if (isMap(approvers)) doc.setIn([...rolePath, 'approvers', 'users'], doc.createNode(f.approvers, { flow: true }));
      else doc.setIn([...rolePath, 'approvers'], doc.createNode({ users: f.approvers }, { flow: true }));
      setScalar(doc, [...rolePath, 'channel'], f.channel.trim());
      doc.setIn([...rolePath, 'grants'], doc.createNode(f.grants, { flow: true }));
      return written(doc);
    }
  }
}

/**
 * Whether the role at `rolePath` shares YAML nodes with other parts of the file, which an in-place edit would
 * change too (`max_duration: &d 4h` in one role, `*d` in another): `uses` when the role holds an anchor or an
 * alias (on a key or a value, at any depth), `is inside a part shared through` when a map on its path is an
 * alias or carries an anchor some alias refers to. Undefined when the role stands alone.
 */
function sharedThroughAnchors(doc: Document, rolePath: string[]): 'uses' | 'is inside a part shared through' | undefined {
  const referenced = new Set<string>();
  visit(doc, { Alias: (_key, alias) => void referenced.add(alias.source) });
  let node: unknown = doc.contents;
  for (const [depth, key] of rolePath.entries()) {
    if (isAlias(node)) return 'is inside a part shared through';
    if (!isMap(node)) return undefined;
    if (node.anchor !== undefined && referenced.has(node.anchor)) return 'is inside a part shared through';
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (!pair) return undefined;
    if (depth < rolePath.length - 1) {
      node = pair.value;
      continue;
    }
    let found = false;
    const visitor = { Node: (_key: unknown, n: Node) => void (found ||= isAlias(n) || n.anchor !== undefined) };
    for (const part of [pair.key, pair.value]) if (isNode(part)) visit(part, visitor);
    return found ? 'uses' : undefined;
  }
  return undefined;
}

/** The edited document as text; yaml refusing to write it (an alias left without its anchor) is a refusal, never a throw. */
function written(doc: Document): EditResult {
  try {
    return { ok: true, text: doc.toString() };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { ok: false, field: 'general', message: `the edited policy cannot be written (${reason}); edit the policy file itself and apply it with \`accessbot policy apply <file>\`` };
  }
}

/** Comma- (or newline-) separated text → the non-empty trimmed items. */
export function splitList(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function approvalsValue(text: string): number | string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  return /^\d+$/.test(t) ? Number(t) : t;
}

/** Sets a scalar in place when there is one, so its comment (`max_duration: 4h # on-call`) stays. */
function setScalar(doc: Document, path: string[], value: string | number): void {
  const node = doc.getIn(path, true);
  if (isScalar(node)) node.value = value;
  else doc.setIn(path, value);
}

/** A new role is written like the harness and the examples: lists and `approvers` in flow style. */
function flowLists(doc: Document, rolePath: string[]): void {
  for (const key of ['grants', 'approvers']) {
    const node = doc.getIn([...rolePath, key], true);
    if (isSeq(node) || isMap(node)) node.flow = true;
  }
}

/** The dotted path the policy parser names a role's key with (`resources.prod-db.roles.read.`). */
export function rolePathPrefix(resource: string, role: string): string {
  return `resources.${pathKey(resource)}.roles.${pathKey(role)}.`;
}

function pathKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : `[${JSON.stringify(key)}]`;
}

/**
 * Sorts the parser's error lines onto the form's fields: an error naming one of `fields` under this role goes
 * there, anything else (another role, the whole file, a check of this process) onto `general`.
 */
export function errorsByField<F extends string>(errors: string[], resource: string, role: string, fields: readonly F[]): Map<F | 'general', string[]> {
  const prefix = rolePathPrefix(resource, role);
  const out = new Map<F | 'general', string[]>();
  for (const line of errors) {
    const at = line.indexOf(prefix);
    let field: F | 'general' = 'general';
    let message = line;
    if (at >= 0) {
      const rest = line.slice(at + prefix.length);
      const key = /^[A-Za-z_]+/.exec(rest)?.[0];
      if (key && (fields as readonly string[]).includes(key)) {
        field = key as F;
        const colon = rest.indexOf(': ');
        message = colon >= 0 ? rest.slice(colon + 2) : rest;
      } else {
        message = rest;
      }
    }
    out.set(field, [...(out.get(field) ?? []), message]);
  }
  return out;
}
