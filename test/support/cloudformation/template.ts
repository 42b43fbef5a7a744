/** A CloudFormation template as JSON data, with just the shape the infrastructure tests read. */
export interface Resource {
  Type: string;
  Condition?: string;
  DependsOn?: string | string[];
  Properties?: Record<string, unknown>;
  CreationPolicy?: Record<string, unknown>;
  UpdatePolicy?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Metadata?: Record<string, unknown>;
}

export interface Template {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Parameters?: Record<string, { Type: string; Default?: unknown; [key: string]: unknown }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown; Condition?: string; [key: string]: unknown }>;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ Ref: X }`, `{ 'Fn::GetAtt': ... }`, `{ Condition: X }`: a value CloudFormation computes. */
export function isIntrinsic(value: unknown): boolean {
  if (!isRecord(value)) return false;
  const keys = Object.keys(value);
  return (
    keys.length === 1 &&
    (keys[0] === 'Ref' || keys[0] === 'Condition' || keys[0]?.startsWith('Fn::') === true)
  );
}

export function ref(logicalId: string): { Ref: string } {
  return { Ref: logicalId };
}

export function resourcesOfType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

export function resource(template: Template, logicalId: string): Resource {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`template has no resource ${logicalId}`);
  return found;
}

export function properties(template: Template, logicalId: string): Record<string, unknown> {
  return resource(template, logicalId).Properties ?? {};
}

/** The value of tag `key` in a CloudFormation `Tags` list, or undefined. */
export function tagValue(tags: unknown, key: string): unknown {
  if (!Array.isArray(tags)) return undefined;
  const tag = tags.find((candidate) => isRecord(candidate) && candidate.Key === key);
  return isRecord(tag) ? tag.Value : undefined;
}
