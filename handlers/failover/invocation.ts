import { z } from 'zod';
import { booleanFlag, parseEnv } from '../../shared/configuration';

/** Why this run happened, as logged in the run's summary line. */
export type Trigger =
  | { kind: 'schedule' }
  | { kind: 'instance-state-change'; instanceId: string; state: string }
  | { kind: 'manual' };

export interface Invocation {
  trigger: Trigger;
  /** Set when the event carries `dryRun`; overrides DRY_RUN. */
  dryRun: boolean | undefined;
}

function field(event: unknown, name: string): unknown {
  return typeof event === 'object' && event !== null ? (event as Record<string, unknown>)[name] : undefined;
}

const eventSettings = z.object({ dryRun: booleanFlag.optional() });

function readDryRun(event: unknown): boolean | undefined {
  return parseEnv(eventSettings, 'failover event', { dryRun: field(event, 'dryRun') }).dryRun;
}

/**
 * Reads the event: an EventBridge schedule, an EC2 instance state-change notification, or a hand-written
 * event (`sls invoke local --data '{"dryRun":true}'`). Every trigger runs the same full reconciliation; the
 * state-change event only makes it happen sooner.
 */
export function readInvocation(event: unknown): Invocation {
  const dryRun = readDryRun(event);
  const detailType = field(event, 'detail-type');
  if (detailType === 'Scheduled Event') return { trigger: { kind: 'schedule' }, dryRun };
  if (detailType === 'EC2 Instance State-change Notification') {
    const detail = field(event, 'detail');
    return {
      trigger: {
        kind: 'instance-state-change',
        instanceId: String(field(detail, 'instance-id') ?? 'unknown'),
        state: String(field(detail, 'state') ?? 'unknown'),
      },
      dryRun,
    };
  }
  return { trigger: { kind: 'manual' }, dryRun };
}
