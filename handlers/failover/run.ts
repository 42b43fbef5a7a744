import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Logger } from '../../shared/logger';
import { type ActionResult, act, verify } from './act';
import type { FailoverConfig } from './config';
import type { Deadline } from './deadline';
import { type Decision, decide } from './decide';
import { AwsTransientError, DeadlineReachedError } from './errors';
import type { Trigger } from './invocation';
import { type EmfDocument, emfDocument } from './metrics';
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
  /** Writes the run's metrics (an EMF document, its own line); writeMetrics in Lambda. */
  publishMetrics: (document: EmfDocument) => void;
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

/** How far a run got: what it observed, decided and did before it ended or stopped. */
interface Reached {
  observation?: Observation;
  decision?: Decision;
  results: ActionResult[];
}

/** How a run ended, before it is summarised. */
interface Outcome extends Reached {
  result: RunResult;
  reason: string;
  /** Thrown after the summary is logged: a configuration error or a failed post-condition. */
  failure?: unknown;
  /** A transient AWS error ended the run (not one action's failure: those are in `results`). */
  stoppedByTransientError: boolean;
}

/** An error that ended the run early: transient trouble and a near deadline are quiet, anything else fails it. */
function stopped(reached: Reached, error: unknown): Outcome {
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof AwsTransientError) {
    return { ...reached, result: 'transient-error', reason, stoppedByTransientError: true };
  }
  if (error instanceof DeadlineReachedError) {
    return { ...reached, result: 'deadline', reason, stoppedByTransientError: false };
  }
  return { ...reached, result: 'failed', reason, failure: error, stoppedByTransientError: false };
}

/** Observe → decide → act → verify, as far as it gets. */
async function reconcile(deps: RunDeps): Promise<Outcome> {
  const { config, logger } = deps;
  let reached: Reached = { results: [] };
  try {
    const observation = await observe(deps);
    reached = { observation, results: [] };
    const decision = decide(observation, config);
    reached = { observation, decision, results: [] };
    const results = await act(deps, decision.actions);
    reached = { observation, decision, results };
    logTables(logger, config.destinationCidrBlock, decision, results);
    await verify(
      deps,
      results.filter((r) => r.status === 'applied').map((r) => r.action),
    );
    return {
      ...reached,
      result: runResult(decision, results),
      reason: decision.reason,
      failure: results.find((r) => r.status === 'failed-configuration')?.failure,
      stoppedByTransientError: false,
    };
  } catch (error) {
    return stopped(reached, error);
  }
}

/** The run's metrics, as an EMF document. */
function metricsOf(deps: RunDeps, outcome: Outcome): EmfDocument {
  const { decision, results } = outcome;
  const transientErrors =
    results.filter((r) => r.status === 'failed-transient').length + (outcome.stoppedByTransientError ? 1 : 0);
  return emfDocument(
    deps.config.stage,
    {
      RouteChanges: results.filter((r) => r.status === 'applied').length,
      NoHealthyCandidate: decision?.noHealthyCandidate ? 1 : 0,
      TransientErrors: transientErrors,
    },
    deps.now(),
  );
}

/** The run's one summary line: what happened and why. */
function summarise(deps: RunDeps, outcome: Outcome, startedMs: number) {
  const { config } = deps;
  const { observation, decision, results, failure } = outcome;
  return {
    trigger: deps.trigger,
    dryRun: deps.dryRun,
    result: outcome.result,
    reason: outcome.reason,
    observation: observation && summariseObservation(observation, config),
    decision: decision && summariseDecision(decision),
    actions: summariseResults(results),
    durationMs: deps.now() - startedMs,
    ...(failure === undefined ? {} : { err: failure }),
  };
}

function levelOf(result: RunResult): 'error' | 'warn' | 'info' {
  if (result === 'failed') return 'error';
  return ['held', 'transient-error', 'deadline'].includes(result) ? 'warn' : 'info';
}

/**
 * One reconciliation: observe → decide → act → verify. Emits one summary line and one metrics line per run
 * whatever happens. Transient trouble and a near deadline end the run quietly (the next run retries);
 * configuration errors and a failed post-condition are thrown after the summary is logged.
 */
export async function runFailover(deps: RunDeps): Promise<RunReport> {
  const startedMs = deps.now();
  const outcome = await reconcile(deps);
  const summary = summarise(deps, outcome, startedMs);
  deps.logger[levelOf(outcome.result)](summary, 'failover run');
  deps.publishMetrics(metricsOf(deps, outcome));
  if (outcome.failure !== undefined) throw outcome.failure;
  return {
    result: outcome.result,
    dryRun: deps.dryRun,
    reason: outcome.reason,
    target: outcome.decision?.target?.instanceId,
    actions: summary.actions,
  };
}
