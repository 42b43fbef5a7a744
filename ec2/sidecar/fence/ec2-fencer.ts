import { DescribeInstancesCommand, type EC2Client, StopInstancesCommand } from '@aws-sdk/client-ec2';
import type { Logger } from '../../lib/logger';
import type { Clock } from '../clock';
import { FenceError, type Fencer } from './fencer';
import { type FenceState, fenceStateOf } from './instance-state';

/**
 * Fences a peer database instance with a forced stop (no OS shutdown, so nothing on it runs on) and waits until
 * EC2 reports it stopped. IAM allows StopInstances only on the stage's database instances.
 */
export function ec2Fencer(options: {
  ec2: EC2Client;
  clock: Clock;
  logger: Logger;
  selfId: string;
  pollIntervalMs: number;
  timeoutMs: number;
}): Fencer {
  const { ec2, clock, logger, selfId } = options;

  async function stateOf(instanceId: string): Promise<FenceState> {
    try {
      const result = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      return fenceStateOf(result.Reservations?.[0]?.Instances?.[0]?.State?.Name ?? 'not-found');
    } catch (error) {
      if ((error as { name?: string }).name === 'InvalidInstanceID.NotFound') return 'stopped';
      throw new FenceError(`describe ${instanceId} failed`, { cause: error });
    }
  }

  return {
    async fence(peerId) {
      if (peerId === selfId) throw new FenceError('refusing to fence this instance itself');
      const before = await stateOf(peerId);
      if (before === 'stopped') {
        logger.info({ event: 'fence-not-needed', peerId }, 'peer already stopped');
        return;
      }
      if (before === 'unknown') throw new FenceError(`state of ${peerId} is unknown`);
      try {
        await ec2.send(new StopInstancesCommand({ InstanceIds: [peerId], Force: true }));
      } catch (error) {
        throw new FenceError(`force-stop of ${peerId} failed`, { cause: error });
      }
      logger.warn({ event: 'fence-requested', peerId }, 'force-stopping the previous holder');
      const giveUpAt = clock.monoMs() + options.timeoutMs;
      while (clock.monoMs() < giveUpAt) {
        await clock.sleep(options.pollIntervalMs);
        if ((await stateOf(peerId)) === 'stopped') {
          logger.warn({ event: 'fenced', peerId }, 'previous holder stopped');
          return;
        }
      }
      throw new FenceError(`${peerId} did not stop within ${options.timeoutMs} ms`);
    },
  };
}
