// What CloudFormation does to a stack's resources on an update, a removal and a failed create, decided as data
// from the template and CloudFormation's resource specification (@aws-cdk/aws-service-spec: each property's
// update behaviour, each type's identifier). moto does not model these (its README); AWS's documentation does:
// DeletionPolicy (Retain, RetainExceptOnCreate, Snapshot, Delete), UpdatePolicy, and parameters of type
// AWS::SSM::Parameter::Value<...>, which CloudFormation resolves again on every stack update.
import type { ResourceSpec } from './resource-spec';
import { isRecord, type Resource, type Template } from './template';

interface SpecProperty {
  causesReplacement?: 'yes' | 'no' | 'maybe';
}
interface SpecResource {
  primaryIdentifier?: string[];
  properties: Record<string, SpecProperty>;
}

function specOf(spec: ResourceSpec, type: string): SpecResource | undefined {
  return spec.lookup('resource', 'cloudFormationType', 'equals', type)[0] as unknown as
    | SpecResource
    | undefined;
}

/** Every logical id or parameter a value refers to: Ref, Fn::GetAtt, and ${X} / ${X.Attr} inside Fn::Sub. */
function references(value: unknown, found: { refs: Set<string>; getAtts: Set<string> }): void {
  if (Array.isArray(value)) {
    for (const item of value) references(item, found);
    return;
  }
  if (!isRecord(value)) return;
  for (const [key, item] of Object.entries(value)) {
    if (key === 'Ref' && typeof item === 'string') found.refs.add(item);
    else if (key === 'Fn::GetAtt' && Array.isArray(item)) found.getAtts.add(String(item[0]));
    else if (key === 'Fn::Sub') {
      const text = Array.isArray(item) ? item[0] : item;
      if (typeof text === 'string') {
        for (const match of text.matchAll(/\$\{([^!][^}]*)\}/g)) {
          const [name, attribute] = (match[1] ?? '').split('.');
          if (name) (attribute === undefined ? found.refs : found.getAtts).add(name);
        }
      }
      references(item, found);
    } else references(item, found);
  }
}

function referencesIn(value: unknown) {
  const found = { refs: new Set<string>(), getAtts: new Set<string>() };
  references(value, found);
  return found;
}

/** How an update treats one resource. */
export type UpdateEffect = 'update' | 'replace';

/**
 * The resources a stack update touches when the values of `changedParameters` change, and how: a property whose
 * value refers to something changed is updated, or replaces its resource when the specification says so (or
 * "maybe"); a replaced resource changes its Ref and attributes, an updated one may change its attributes (a launch
 * template's LatestVersionNumber). An AutoScalingReplacingUpdate policy replaces its group on any update.
 */
export function updateEffects(
  template: Template,
  spec: ResourceSpec,
  changedParameters: string[],
): Map<string, UpdateEffect> {
  const effects = new Map<string, UpdateEffect>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [id, resource] of Object.entries(template.Resources)) {
      const effect = effectOn(resource, spec, (name, viaGetAtt) => {
        if (changedParameters.includes(name)) return true;
        const other = effects.get(name);
        return other === 'replace' || (other === 'update' && viaGetAtt);
      });
      if (effect !== undefined && effects.get(id) !== effect && effects.get(id) !== 'replace') {
        effects.set(id, effect);
        grew = true;
      }
    }
  }
  return effects;
}

function effectOn(
  resource: Resource,
  spec: ResourceSpec,
  changed: (name: string, viaGetAtt: boolean) => boolean,
): UpdateEffect | undefined {
  const definition = specOf(spec, resource.Type);
  let effect: UpdateEffect | undefined;
  for (const [name, value] of Object.entries(resource.Properties ?? {})) {
    const { refs, getAtts } = referencesIn(value);
    const touched = [...refs].some((r) => changed(r, false)) || [...getAtts].some((g) => changed(g, true));
    if (!touched) continue;
    const replacement = definition?.properties[name]?.causesReplacement;
    effect = replacement === 'yes' || replacement === 'maybe' ? 'replace' : (effect ?? 'update');
  }
  const replacingUpdate = (
    resource.UpdatePolicy?.AutoScalingReplacingUpdate as Record<string, unknown> | undefined
  )?.WillReplace;
  if (effect === 'update' && (replacingUpdate === true || replacingUpdate === 'true')) effect = 'replace';
  return effect;
}

/**
 * The template's parameters CloudFormation resolves again on every update to a value the stack does not control:
 * SSM parameter types whose default is one of AWS's public parameters (/aws/service/...), which AWS moves when it
 * publishes a new image.
 */
export function parametersAwsMoves(template: Template): string[] {
  return Object.entries(template.Parameters ?? {})
    .filter(([, parameter]) => parameter.Type.startsWith('AWS::SSM::Parameter::Value<'))
    .filter(([, parameter]) => String(parameter.Default ?? '').startsWith('/aws/service/'))
    .map(([name]) => name);
}

/** A resource that CloudFormation leaves in the account, and what of it stays. */
export interface LeftBehind {
  id: string;
  type: string;
  /** 'resource' (kept as it is) or 'snapshot' (a final snapshot of it; the resource itself is deleted). */
  what: 'resource' | 'snapshot';
}

/**
 * What a stack leaves in the account when CloudFormation deletes its resources: after `sls remove` (every
 * kept policy applies) or when the operation that created them fails (RetainExceptOnCreate deletes them then).
 * Lambda versions are left out: osls retains them, but they are deleted with their function.
 */
export function leftBehind(template: Template, after: 'remove' | 'failed create'): LeftBehind[] {
  const kept: LeftBehind[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'AWS::Lambda::Version') continue;
    const policy = resource.DeletionPolicy ?? 'Delete';
    if (policy === 'Snapshot') kept.push({ id, type: resource.Type, what: 'snapshot' });
    else if (policy === 'Retain' || (policy === 'RetainExceptOnCreate' && after === 'remove'))
      kept.push({ id, type: resource.Type, what: 'resource' });
  }
  return kept;
}

/**
 * Kept resources (a Retain or RetainExceptOnCreate deletion policy, or a Retain replace policy) that carry a name
 * the next deploy of the same stage would give again: a value for the type's identifier property (the name AWS
 * keeps unique) that does not depend on the stack's own id. Each problem names the resource and its name.
 */
export function keptFixedNames(template: Template, spec: ResourceSpec): string[] {
  const problems: string[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    const kept =
      ['Retain', 'RetainExceptOnCreate'].includes(resource.DeletionPolicy ?? '') ||
      resource.UpdateReplacePolicy === 'Retain';
    if (!kept) continue;
    for (const property of specOf(spec, resource.Type)?.primaryIdentifier ?? []) {
      const value = resource.Properties?.[property];
      if (value === undefined) continue;
      if (!referencesIn(value).refs.has('AWS::StackId')) {
        problems.push(`${id} (${resource.Type}) is kept and named ${JSON.stringify(value)} in ${property}`);
      }
    }
  }
  return problems;
}
