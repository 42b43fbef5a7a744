// Each Lambda function's alarms, to the stage's alarm topic (resources/monitoring.yml): errors, throttles, and a
// duration near its timeout. Made here, from the functions the stage has (databaseFailover with the instance
// tier, databaseBootstrap with Aurora) and each one's own timeout, so that a new function or a changed timeout
// cannot leave an alarm behind. docs/OPERATIONS.md, "Lambda functions".
'use strict';

// The share of the timeout at which a run counts as "near it": a run that long is one slow call from failing.
const NEAR_TIMEOUT = 0.9;
const FUNCTIONS = ['api', 'databaseFailover', 'databaseBootstrap'];

/** osls's logical id of a function: `databaseFailover` → `DatabaseFailoverLambdaFunction`. */
function logicalId(name) {
  return `${name[0].toUpperCase()}${name.slice(1).replace(/-/g, 'Dash').replace(/_/g, 'Underscore')}LambdaFunction`;
}

/** The three alarms of one function. Pure: the tests call it directly. */
function functionAlarms(prefix, name, timeoutSeconds) {
  const id = logicalId(name);
  const base = `${id.replace(/LambdaFunction$/, '')}Function`;
  const alarm = (suffix, metric, stat, threshold, description, periods) => ({
    [`${base}${suffix}Alarm`]: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: `${prefix}-lambda-${name}-${suffix.toLowerCase()}`,
        AlarmDescription: `${description} docs/OPERATIONS.md, "Lambda functions"`,
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: id } }],
        Statistic: stat,
        Period: 60,
        EvaluationPeriods: periods,
        DatapointsToAlarm: 1,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        // No invocations, no data: not a failure.
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: 'AlarmTopic' }],
        OKActions: [{ Ref: 'AlarmTopic' }],
      },
    },
  });
  return {
    ...alarm(
      'Errors',
      'Errors',
      'Sum',
      1,
      `The ${name} function failed (an uncaught error or its timeout).`,
      5,
    ),
    ...alarm(
      'Throttles',
      'Throttles',
      'Sum',
      1,
      `Lambda refused to run the ${name} function (its reserved concurrency or the account's limit).`,
      5,
    ),
    ...alarm(
      'Duration',
      'Duration',
      'Maximum',
      Math.round(timeoutSeconds * 1000 * NEAR_TIMEOUT),
      `A run of the ${name} function took ${NEAR_TIMEOUT * 100} % of its ${timeoutSeconds} s timeout or more.`,
      5,
    ),
  };
}

/** osls calls this for `${file(./resources/lambda-alarms.cjs)}` with its variable resolver. */
async function lambdaAlarms({ resolveVariable }) {
  const prefix = await resolveVariable('self:custom.prefix');
  const defaultTimeout = (await resolveVariable('self:provider.timeout, 6')) ?? 6;
  let resources = {};
  for (const name of FUNCTIONS) {
    const definition = await resolveVariable(`self:functions.${name}, null`);
    if (!definition) continue; // not in this stage's database engine
    resources = {
      ...resources,
      ...functionAlarms(prefix, name, Number(definition.timeout ?? defaultTimeout)),
    };
  }
  return { Resources: resources };
}

module.exports = lambdaAlarms;
module.exports.functionAlarms = functionAlarms;
module.exports.FUNCTIONS = FUNCTIONS;
