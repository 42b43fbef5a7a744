import {
  DescribeInstancesCommand,
  type DescribeInstancesCommandOutput,
  type EC2Client,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { awsErrorCode, wrapAwsCall } from '../../../shared/aws-errors';
import type { Clock } from '../clock';
import type { SidecarLogger } from '../log-events';
import { FenceError, type Fencer } from './fencer';
import { type FenceState, fenceStateOf } from './instance-state';

// Every database instance carries these tags (resources/database-instances.yml); IAM scopes StopInstances by them too.
const STAGE_TAG = 'cloudy:stage';
const DATABASE_TAG = 'database';

/**
 * Fences a peer database instance with StopInstances and waits until EC2 reports it stopped. `Force` alone still
 * attempts a graceful OS shutdown first and forces only after EC2's timeout; with `skipOsShutdown` (the default,
 * see docs/DATABASE-TIER.md) the instance is powered off at once. IAM allows StopInstances only on the stage's
 * database instances.
 */
export function ec2Fencer(options: {
  ec2: EC2Client;
  clock: Clock;
  logger: SidecarLogger;
  selfId: string;
  stage: string;
  pollIntervalMs: number;
  timeoutMs: number;
  /**
   * EC2 answers InvalidInstanceID.NotFound for instances that exist but are not visible yet (its API is
   * eventually consistent): the answer counts as "stopped" only once it has persisted this long.
   */
  notFoundGraceMs: number;
  /** Bypass the peer's graceful OS shutdown: it has lost the lease, nothing it would do on the way down helps. */
  skipOsShutdown: boolean;
}): Fencer {
  const { ec2, clock, logger, selfId } = options;
  // First NotFound answer per instance, on the monotonic clock; kept across fence attempts.
  const notFoundSince = new Map<string, number>();

  async function stateOf(instanceId: string): Promise<FenceState> {
    let name: string | undefined;
    try {
      const result = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      name = result.Reservations?.[0]?.Instances?.[0]?.State?.Name;
    } catch (error) {
      const code = awsErrorCode(error);
      if (code !== 'InvalidInstanceID.NotFound')
        throw new FenceError(`describe ${instanceId} failed (${code})`, { cause: error });
    }
    if (name !== undefined) {
      notFoundSince.delete(instanceId);
      return fenceStateOf(name);
    }
    // Not found (an error or an empty answer): unknown until that has persisted for the grace period.
    const since = notFoundSince.get(instanceId) ?? clock.monoMs();
    notFoundSince.set(instanceId, since);
    return clock.monoMs() - since >= options.notFoundGraceMs ? 'stopped' : 'unknown';
  }

  async function othersOfTheStage(): Promise<string[]> {
    const ids: string[] = [];
    let nextToken: string | undefined;
    do {
      const page: DescribeInstancesCommandOutput = await wrapAwsCall(
        () =>
          ec2.send(
            new DescribeInstancesCommand({
              Filters: [
                { Name: `tag:${STAGE_TAG}`, Values: [options.stage] },
                { Name: `tag:${DATABASE_TAG}`, Values: ['true'] },
              ],
              ...(nextToken ? { NextToken: nextToken } : {}),
            }),
          ),
        ({ code, cause }) =>
          new FenceError(`listing the stage database instances failed (${code})`, { cause }),
      );
      for (const reservation of page.Reservations ?? [])
        for (const instance of reservation.Instances ?? [])
          if (instance.InstanceId && instance.InstanceId !== selfId) ids.push(instance.InstanceId);
      nextToken = page.NextToken;
    } while (nextToken);
    return ids;
  }

  async function fence(peerId: string): Promise<void> {
    if (peerId === selfId) throw new FenceError('refusing to fence this instance itself');
    const before = await stateOf(peerId);
    if (before === 'stopped') {
      logger.info({ event: 'fence-not-needed', peerId }, 'peer already stopped');
      return;
    }
    if (before === 'unknown') throw new FenceError(`state of ${peerId} is unknown`);
    await wrapAwsCall(
      () =>
        ec2.send(
          new StopInstancesCommand({
            InstanceIds: [peerId],
            Force: true,
            SkipOsShutdown: options.skipOsShutdown,
          }),
        ),
      ({ code, cause }) => new FenceError(`force-stop of ${peerId} failed (${code})`, { cause }),
    );
    logger.warn(
      { event: 'fence-requested', peerId, skipOsShutdown: options.skipOsShutdown },
      'force-stopping the previous holder',
    );
    const giveUpAt = clock.monoMs() + options.timeoutMs;
    while (clock.monoMs() < giveUpAt) {
      await clock.sleep(options.pollIntervalMs);
      if ((await stateOf(peerId)) === 'stopped') {
        logger.warn({ event: 'fenced', peerId }, 'previous holder stopped');
        return;
      }
    }
    throw new FenceError(`${peerId} did not stop within ${options.timeoutMs} ms`);
  }

  return {
    fence,
    async fenceAllOthers() {
      const peers = await othersOfTheStage();
      logger.warn(
        { event: 'fencing-all', peers },
        'lease holder unknown: fencing every other database instance',
      );
      // Terminated instances are listed for a while after; fence() finds them stopped and sends nothing.
      await Promise.all(peers.map((peerId) => fence(peerId)));
    },
  };
}
