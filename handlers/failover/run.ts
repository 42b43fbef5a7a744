import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Logger } from '../../ec2/lib/logger';
import { type ActionResult, act, verify } from './act';
import type { FailoverConfig } from './config';
import type { Deadline } from './deadline';
import { type Decision, decide } from './decide';
import { AwsTransientError, DeadlineReachedError } from './errors';
import type { Trigger } from './invocation';
import { emfFields } from './metrics';
import type { Observation } from './observation';
import { observe } from './observe';
import {
  type RunResult,
  runResult,
  summariseDecision,
  summariseObservation,
  summariseResults,
} from './report';

export interface RunDeps {
  ec2: EC2Client;
  dynamodb: DynamoDBClient | undefined;
  config: FailoverConfig;
  dryRun: boolean;
  trigger: Trigger;
  deadline: Deadline;
  logger: Logger;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export interface RunReport {
  result: RunResult;
  dryRun: boolean;
  reason: string;
  target: string | undefined;
  actions: ReturnType<typeof summariseResults>;
}

/** One line per route table, in fixed words an operator can search the function's logs for (docs/FAILOVER.md). */
function logTables(logger: Logger, cidr: string, decision: Decision, results: ActionResult[]): void {
  for (const table of decision.tables) {
    const result = results.find((r) => r.action.routeTableId === table.routeTableId);
    const { routeTableId } = table;
    if (table.verdict === 'in-sync') {
      logger.info(`Route on ${routeTableId} already pointing to ${cidr} via ${table.currentTarget}`);
    } else if (table.verdict === 'hold' || !result) {
      logger.warn(`Route on ${routeTableId} left unchanged: ${table.reason}`);
    } else {
      const { kind, destinationCidrBlock, instanceId } = result.action;
      const verb = kind === 'create-route' ? 'Created' : 'Updated';
      const done = `route on ${routeTableId} to ${destinationCidrBlock} via ${instanceId} (${table.reason})`;
      if (result.status === 'applied') logger.info(`${verb} ${done}`);
      else if (result.status === 'dry-run') logger.info(`Dry run: would have ${verb.toLowerCase()} ${done}`);
      else if (result.status === 'skipped-deadline')
        logger.warn(`Not started, deadline near: ${verb} ${done}`);
      else if (result.status === 'failed-transient') {
        logger.warn(`Failed (${result.error}, the next run retries): ${verb} ${done}`);
      } else logger.error(`Failed (${result.error}, a configuration error): ${verb} ${done}`);
    }
  }
}

/**
 * One reconciliation: observe → decide → act → verify. Emits one summary line (with EMF metrics) per run
 * whatever happens. Transient trouble and a near deadline end the run quietly (the next run retries);
 * configuration errors and a failed post-condition are thrown after the summary is logged.
 */
export async function runFailover(deps: RunDeps): Promise<RunReport> {
  const { config, logger } = deps;
  const startedMs = deps.now();
  let observation: Observation | undefined;
  let decision: Decision | undefined;
  let results: ActionResult[] = [];
  let result: RunResult;
  let reason: string;
  let failure: unknown;
  let thrownTransient = false;
  try {
    observation = await observe(deps);
    decision = decide(observation, config);
    results = await act(deps, decision.actions);
    logTables(logger, config.destinationCidrBlock, decision, results);
    await verify(
      deps,
      results.filter((r) => r.status === 'applied').map((r) => r.action),
    );
    result = runResult(decision, results);
    reason = decision.reason;
    failure = results.find((r) => r.status === 'failed-configuration')?.failure;
  } catch (error) {
    reason = error instanceof Error ? error.message : String(error);
    if (error instanceof AwsTransientError) {
      result = 'transient-error';
      thrownTransient = true;
    } else if (error instanceof DeadlineReachedError) result = 'deadline';
    else {
      result = 'failed';
      failure = error;
    }
  }

  const applied = results.filter((r) => r.status === 'applied').length;
  const transientErrors =
    results.filter((r) => r.status === 'failed-transient').length + (thrownTransient ? 1 : 0);
  const summary = {
    ...emfFields(
      config.stage,
      {
        RouteChanges: applied,
        NoHealthyCandidate: decision?.noHealthyCandidate ? 1 : 0,
        TransientErrors: transientErrors,
      },
      deps.now(),
    ),
    trigger: deps.trigger,
    dryRun: deps.dryRun,
    result,
    reason,
    observation: observation && summariseObservation(observation, config),
    decision: decision && summariseDecision(decision),
    actions: summariseResults(results),
    durationMs: deps.now() - startedMs,
    ...(failure === undefined ? {} : { err: failure }),
  };
  const level =
    result === 'failed'
      ? 'error'
      : ['held', 'transient-error', 'deadline'].includes(result)
        ? 'warn'
        : 'info';
  logger[level](summary, 'failover run');
  if (failure !== undefined) throw failure;
  return {
    result,
    dryRun: deps.dryRun,
    reason,
    target: decision?.target?.instanceId,
    actions: summary.actions,
  };
}
