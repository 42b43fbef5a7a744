import { isRecord, type Template } from './template';

/** One rule admitting traffic into a security group, wherever in the template it is written. */
interface IngressRule {
  /** Logical id of the group the rule opens. */
  group: string;
  protocol: string;
  fromPort: number;
  toPort: number;
  /** Logical id of the source group, when the source is a group. */
  sourceGroup?: string;
  /** The source CIDR, when the source is an address range. */
  cidr?: string;
}

function logicalIdOf(value: unknown): string {
  if (isRecord(value) && typeof value.Ref === 'string') return value.Ref;
  if (isRecord(value) && Array.isArray(value['Fn::GetAtt'])) return String(value['Fn::GetAtt'][0]);
  return JSON.stringify(value);
}

function toRule(group: string, rule: Record<string, unknown>): IngressRule {
  const cidr = rule.CidrIp ?? rule.CidrIpv6;
  return {
    group,
    protocol: String(rule.IpProtocol),
    fromPort: Number(rule.FromPort ?? -1),
    toPort: Number(rule.ToPort ?? -1),
    ...(rule.SourceSecurityGroupId === undefined
      ? {}
      : { sourceGroup: logicalIdOf(rule.SourceSecurityGroupId) }),
    ...(cidr === undefined ? {} : { cidr: typeof cidr === 'string' ? cidr : JSON.stringify(cidr) }),
  };
}

export function ingressRules(template: Template): IngressRule[] {
  const rules: IngressRule[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const props = resource.Properties ?? {};
    if (resource.Type === 'AWS::EC2::SecurityGroup' && Array.isArray(props.SecurityGroupIngress)) {
      for (const rule of props.SecurityGroupIngress) if (isRecord(rule)) rules.push(toRule(logicalId, rule));
    }
    if (resource.Type === 'AWS::EC2::SecurityGroupIngress')
      rules.push(toRule(logicalIdOf(props.GroupId), props));
  }
  return rules;
}

/** True when the rule's port range includes `port` (protocol -1 means every port). */
export function admitsPort(rule: IngressRule, port: number): boolean {
  return rule.protocol === '-1' || (rule.fromPort <= port && port <= rule.toPort);
}

interface PolicyStatement {
  /** Logical id of the role or policy holding the statement. */
  owner: string;
  effect: string;
  actions: string[];
  resources: unknown[];
  condition?: Record<string, unknown>;
}

const asList = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : value === undefined ? [] : [value];

function statementsOf(owner: string, document: unknown): PolicyStatement[] {
  if (!isRecord(document)) return [];
  return asList(document.Statement)
    .filter(isRecord)
    .map((statement) => ({
      owner,
      effect: String(statement.Effect),
      actions: asList(statement.Action).map(String),
      resources: asList(statement.Resource),
      ...(isRecord(statement.Condition) ? { condition: statement.Condition } : {}),
    }));
}

/** Every identity-policy statement of every IAM role and policy in the template (not trust policies). */
export function policyStatements(template: Template): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const props = resource.Properties ?? {};
    if (resource.Type === 'AWS::IAM::Role') {
      for (const policy of asList(props.Policies).filter(isRecord)) {
        statements.push(...statementsOf(logicalId, policy.PolicyDocument));
      }
    }
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
      statements.push(...statementsOf(logicalId, props.PolicyDocument));
    }
  }
  return statements;
}

/** The AWS-managed policies attached to roles, as written (strings or Fn::Sub/Fn::Join expressions). */
export function managedPolicyArns(template: Template): { owner: string; arn: string }[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::IAM::Role')
    .flatMap(([owner, resource]) =>
      asList(resource.Properties?.ManagedPolicyArns).map((arn) => ({ owner, arn: JSON.stringify(arn) })),
    );
}
