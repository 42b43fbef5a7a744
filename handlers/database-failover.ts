// The failover controller: keeps the virtual-IP route on a healthy primary (see docs/FAILOVER.md).

import { createLogger, withInvocationLogging } from '../shared/logger';
import { createFailoverClients } from './failover/aws-clients';
import { readFailoverConfig } from './failover/config';
import { lambdaDeadline } from './failover/deadline';
import { readInvocation } from './failover/invocation';
import { writeMetrics } from './failover/metrics';
import { type RunReport, runFailover } from './failover/run';

const logger = createLogger('database-failover');
// Read once at start: a bad configuration fails the cold start, loudly, before any AWS call.
const config = readFailoverConfig(process.env);
const clients = createFailoverClients();

export const handler = withInvocationLogging(
  async (
    event: unknown,
    context: { getRemainingTimeInMillis: () => number; awsRequestId: string; functionName: string },
  ): Promise<RunReport> => {
    const invocation = readInvocation(event);
    return runFailover({
      ec2: clients.ec2,
      dynamodb: config.leaseTable === undefined ? undefined : clients.dynamodb,
      config,
      dryRun: invocation.dryRun ?? config.dryRun,
      trigger: invocation.trigger,
      deadline: lambdaDeadline(() => context.getRemainingTimeInMillis()),
      logger,
      now: Date.now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      publishMetrics: writeMetrics,
    });
  },
);
