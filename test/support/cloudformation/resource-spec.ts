import { loadAwsServiceSpec } from '@aws-cdk/aws-service-spec';
import { isIntrinsic, isRecord, type Template } from './template';

/**
 * Checks a template against the CloudFormation resource specification (the database the AWS CDK is generated
 * from): every resource type exists, every property is known at its place, every required property is present
 * and nested structures have the expected shape. Values CloudFormation computes (Ref, Fn::*) are not judged.
 */
export type ResourceSpec = Awaited<ReturnType<typeof loadAwsServiceSpec>>;

interface PropertyType {
  type: string;
  element?: PropertyType;
  types?: PropertyType[];
  reference?: { $ref: string };
}

interface PropertyDefinition {
  required?: boolean;
  type: PropertyType;
  previousTypes?: PropertyType[];
}

type PropertyDefinitions = Record<string, PropertyDefinition>;

export async function loadResourceSpec(): Promise<ResourceSpec> {
  return loadAwsServiceSpec();
}

export function validateTemplate(template: Template, spec: ResourceSpec): string[] {
  const problems: string[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    // Custom resources carry whatever their provider reads.
    if (resource.Type.startsWith('Custom::')) continue;
    const found = spec.lookup('resource', 'cloudFormationType', 'equals', resource.Type);
    const definition = found[0];
    if (!definition) {
      problems.push(`${logicalId}: unknown resource type ${resource.Type}`);
      continue;
    }
    const validator = new ShapeValidator(spec, problems);
    validator.object(resource.Properties ?? {}, definition.properties as PropertyDefinitions, logicalId);
  }
  return problems;
}

class ShapeValidator {
  constructor(
    private readonly spec: ResourceSpec,
    private readonly problems: string[],
  ) {}

  object(value: unknown, definitions: PropertyDefinitions, path: string): void {
    if (isIntrinsic(value)) return;
    if (!isRecord(value)) {
      this.problems.push(`${path}: expected an object, got ${JSON.stringify(value)}`);
      return;
    }
    for (const [name, item] of Object.entries(value)) {
      const definition = definitions[name];
      if (!definition) {
        this.problems.push(`${path}.${name}: unknown property`);
        continue;
      }
      this.property(item, definition, `${path}.${name}`);
    }
    for (const [name, definition] of Object.entries(definitions)) {
      if (definition.required && !(name in value))
        this.problems.push(`${path}.${name}: required property missing`);
    }
  }

  private property(value: unknown, definition: PropertyDefinition, path: string): void {
    // A property whose type changed over time accepts any of its historical shapes.
    const candidates = [definition.type, ...(definition.previousTypes ?? [])];
    let firstProblems: string[] | undefined;
    for (const candidate of candidates) {
      const found = this.collect((validator) => validator.value(value, candidate, path));
      if (found.length === 0) return;
      firstProblems ??= found;
    }
    this.problems.push(...(firstProblems ?? []));
  }

  private collect(check: (validator: ShapeValidator) => void): string[] {
    const found: string[] = [];
    check(new ShapeValidator(this.spec, found));
    return found;
  }

  private value(value: unknown, type: PropertyType, path: string): void {
    if (isIntrinsic(value)) return;
    switch (type.type) {
      case 'ref': {
        const id = type.reference?.$ref;
        const definition = id === undefined ? undefined : this.spec.get('typeDefinition', id);
        if (!definition) throw new Error(`resource spec: dangling type reference at ${path}`);
        this.object(value, definition.properties as PropertyDefinitions, path);
        return;
      }
      case 'array':
        if (!Array.isArray(value)) {
          this.problems.push(`${path}: expected a list, got ${JSON.stringify(value)}`);
          return;
        }
        value.forEach((item, index) => {
          if (type.element) this.value(item, type.element, `${path}[${index}]`);
        });
        return;
      case 'map':
        if (!isRecord(value)) {
          this.problems.push(`${path}: expected a map, got ${JSON.stringify(value)}`);
          return;
        }
        for (const [key, item] of Object.entries(value)) {
          if (type.element) this.value(item, type.element, `${path}.${key}`);
        }
        return;
      case 'union': {
        const members = type.types ?? [];
        const fits = members.some((member) => this.collect((v) => v.value(value, member, path)).length === 0);
        if (!fits)
          this.problems.push(`${path}: matches none of its allowed shapes: ${JSON.stringify(value)}`);
        return;
      }
      case 'tag':
        this.object(
          value,
          { Key: { required: true, type: { type: 'string' } }, Value: { type: { type: 'string' } } },
          path,
        );
        return;
      case 'json':
        return;
      default:
        // Scalars: CloudFormation converts between strings, numbers and booleans itself.
        if (isRecord(value) || Array.isArray(value)) {
          this.problems.push(`${path}: expected a ${type.type}, got ${JSON.stringify(value)}`);
        }
    }
  }
}
