import { isRecord, type Template } from './template';

/**
 * Evaluates a template's Conditions. After `sls package` every stage parameter is a literal, so conditions are
 * `Fn::Equals` of literals combined with Not/And/Or; anything else (a Ref to a CloudFormation parameter) is
 * reported as an error rather than guessed.
 */
export function evaluateConditions(template: Template): Map<string, boolean> {
  const definitions = template.Conditions ?? {};
  const values = new Map<string, boolean>();
  const evaluating = new Set<string>();

  const byName = (name: string): boolean => {
    const known = values.get(name);
    if (known !== undefined) return known;
    if (!(name in definitions)) throw new Error(`unknown condition ${name}`);
    if (evaluating.has(name)) throw new Error(`condition ${name} refers to itself`);
    evaluating.add(name);
    const value = evaluate(definitions[name]);
    evaluating.delete(name);
    values.set(name, value);
    return value;
  };

  const evaluate = (expression: unknown): boolean => {
    if (!isRecord(expression)) throw new Error(`not a condition: ${JSON.stringify(expression)}`);
    const [[fn, args] = []] = Object.entries(expression);
    if (fn === 'Condition' && typeof args === 'string') return byName(args);
    if (!Array.isArray(args)) throw new Error(`not a condition: ${JSON.stringify(expression)}`);
    switch (fn) {
      case 'Fn::Equals': {
        const [left, right] = args;
        if (isRecord(left) || isRecord(right)) {
          throw new Error(`Fn::Equals of a computed value: ${JSON.stringify(expression)}`);
        }
        return String(left) === String(right);
      }
      case 'Fn::Not':
        return !evaluate(args[0]);
      case 'Fn::And':
        return args.every(evaluate);
      case 'Fn::Or':
        return args.some(evaluate);
      default:
        throw new Error(`unsupported condition function ${fn}`);
    }
  };

  for (const name of Object.keys(definitions)) byName(name);
  return values;
}

const NO_VALUE = Symbol('AWS::NoValue');

function resolveIfs(value: unknown, conditions: Map<string, boolean>): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => resolveIfs(item, conditions)).filter((item) => item !== NO_VALUE);
  }
  if (!isRecord(value)) return value;
  if (value.Ref === 'AWS::NoValue') return NO_VALUE;
  const ifArgs = value['Fn::If'];
  if (Array.isArray(ifArgs) && Object.keys(value).length === 1) {
    const [name, whenTrue, whenFalse] = ifArgs;
    const chosen = conditions.get(String(name));
    if (chosen === undefined) throw new Error(`Fn::If on unknown condition ${String(name)}`);
    return resolveIfs(chosen ? whenTrue : whenFalse, conditions);
  }
  const resolved: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const next = resolveIfs(item, conditions);
    if (next !== NO_VALUE) resolved[key] = next;
  }
  return resolved;
}

/**
 * The template as CloudFormation would create it: resources and outputs whose condition is false are gone,
 * every `Fn::If` is replaced by its chosen branch and `AWS::NoValue` properties are dropped.
 */
export function effectiveTemplate(template: Template): Template {
  const conditions = evaluateConditions(template);
  const kept = <T extends { Condition?: string }>(entries: Record<string, T>): Record<string, T> =>
    Object.fromEntries(
      Object.entries(entries)
        .filter(([, entry]) => entry.Condition === undefined || conditions.get(entry.Condition) === true)
        .map(([key, entry]) => [key, resolveIfs(entry, conditions) as T]),
    );
  return { ...template, Resources: kept(template.Resources), Outputs: kept(template.Outputs ?? {}) };
}
