import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { FailoverConfig } from '../../handlers/failover/config';
import type { Deadline } from '../../handlers/failover/deadline';
import { decide } from '../../handlers/failover/decide';
import { callAws } from '../../handlers/failover/errors';
import { isInStage } from '../../handlers/failover/observation';
import { observe, observeLease } from '../../handlers/failover/observe';
import type { LeaseLocation } from '../../shared/lease-table/read-lease';
import { readStandbyHeartbeats } from '../../shared/lease-table/standby-heartbeat';
import { HANDOVER_VALID_MS, requestHandover, withdrawHandover } from './handover-request';
import { seconds } from './status-report';
import { planSwitchover } from './switchover-plan';
import { measuredWriteOutageMs, type SwitchoverPhase, switchoverPhase } from './switchover-progress';

export interface SwitchoverDeps {
  ec2: EC2Client;
  dynamodb: DynamoDBClient;
  /** Writes the request with a single attempt (see createDbCommandClients). */
  leaseWriter: DynamoDBClient;
  config: FailoverConfig & { leaseTable: string };
  deadline: Deadline;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  print: (line: string) => void;
  /** Asks the operator; resolves true for yes. */
  confirm: (question: string) => Promise<boolean>;
}

// How often the lease is read while waiting: a consistent GetItem is cheap, and steps take hundreds of ms.
const POLL_MS = 200;
// From the release to the new primary: a clean start needs no recovery, but the promotion may retry EC2 calls
// for a while (the sidecar's PROMOTION_DEADLINE_MS default is 60 s).
const TAKEOVER_WAIT_MS = 90_000;
// After the request is seen void, a little more waiting for a holder that acted at the last moment.
const GRACE_MS = 5_000;

/** `npm run db -- switchover`: returns the process exit code (0: the named standby is primary). */
export async function switchover(
  deps: SwitchoverDeps,
  options: { to: string | undefined; yes: boolean },
): Promise<number> {
  const { config, print } = deps;
  const lease: LeaseLocation = { client: deps.dynamodb, table: config.leaseTable, name: config.leaseName };
  const observation = await observe(deps);
  const heartbeats = await callAws('GetItem', () =>
    readStandbyHeartbeats(
      lease,
      observation.instances.filter((i) => isInStage(i.tags, config.stage)).map((i) => i.instanceId),
    ),
  );
  const plan = planSwitchover({ observation, config, requestedTarget: options.to, heartbeats });
  if (plan.kind === 'refuse') {
    print(`Switchover refused: ${plan.reason}.`);
    return 1;
  }
  const question =
    `Hand the primary of stage ${config.stage} over from ${plan.from} to ${plan.to}? ` +
    'Writes stop for a few seconds. [y/N] ';
  if (!options.yes && !(await deps.confirm(question))) {
    print('Switchover cancelled: nothing was changed.');
    return 1;
  }

  const t0 = deps.now();
  const stamp = (atMs: number) => `${new Date(atMs).toISOString()} (+${seconds(atMs - t0)})`;
  const request = await requestHandover(
    { ...lease, writer: deps.leaseWriter },
    {
      holderId: plan.from,
      fencingToken: plan.fencingToken,
      leaseExpiresAtMs: plan.leaseExpiresAtMs,
      to: plan.to,
      nowMs: t0,
    },
  );
  print(`${stamp(t0)}  asked ${plan.from} (lease token ${plan.fencingToken}) to hand over to ${plan.to}`);
  if (request.written === 'unknown') {
    print(
      `${stamp(deps.now())}  the request's write got no answer and is not on the lease item: ` +
        'watching the lease to see whether it lands',
    );
  }

  let shown = 'requested';
  let voidSinceMs: number | undefined;
  let seenStanding = request.written === 'yes';
  for (;;) {
    await deps.sleep(POLL_MS);
    const nowMs = deps.now();
    const phase = switchoverPhase(await observeLease(deps), plan);
    if (phase.kind !== shown) {
      for (const line of describePhase(phase, plan, stamp, shown)) print(line);
      shown = phase.kind;
    }
    if (phase.kind === 'primary') {
      await reportOutcome(deps, phase, plan);
      return 0;
    }
    if (phase.kind === 'taken-by-other' || phase.kind === 'lease-gone') return 1;
    if (phase.kind === 'requested' && phase.standing) {
      seenStanding = true;
      voidSinceMs = undefined;
    } else if (phase.kind === 'requested') voidSinceMs ??= nowMs;
    const voided = voidSinceMs !== undefined && nowMs - voidSinceMs > GRACE_MS;
    // Renewals that stop leave the request standing: the lease then runs out and a standby takes it over.
    const unanswered = nowMs - t0 > HANDOVER_VALID_MS + TAKEOVER_WAIT_MS;
    if (phase.kind === 'requested' && (voided || unanswered)) {
      const withdrawn = await withdrawHandover(lease, { to: plan.to, requestedAtMs: request.requestedAtMs });
      const why = !voided
        ? `neither acted on the request nor lost its lease in ${seconds(nowMs - t0)}` +
          `${withdrawn ? '; the request is withdrawn' : ''}. See \`npm run db -- status\`.`
        : seenStanding
          ? 'renewed its lease past the request without acting on it; ' +
            `the request is void${withdrawn ? ' and withdrawn' : ''}. Nothing was changed.`
          : 'never had the request: its write was lost. Nothing was changed.';
      print(`${stamp(nowMs)}  ${plan.from} ${why}`);
      return 1;
    }
    if (phase.kind !== 'requested' && nowMs - t0 > TAKEOVER_WAIT_MS + GRACE_MS) {
      print(
        `${stamp(nowMs)}  ${plan.to} is not primary after ${seconds(nowMs - t0)}: see \`npm run db -- status\`.`,
      );
      return 1;
    }
  }
}

/** The lines for a step newly seen; `previous` is the step shown before (a poll may skip one). */
function describePhase(
  phase: SwitchoverPhase,
  plan: { from: string; to: string },
  stamp: (atMs: number) => string,
  previous: string,
): string[] {
  const beganStopping = (atMs: number) =>
    `${stamp(atMs)}  ${plan.from} began stopping PostgreSQL (fast shutdown, checkpoint)`;
  switch (phase.kind) {
    case 'requested':
      return [];
    case 'stopping':
      return [beganStopping(phase.record.writesStoppedAtMs ?? 0)];
    case 'released': {
      const { writesStoppedAtMs, releasedAtMs, handedOverTo } = phase.record;
      return [
        ...(writesStoppedAtMs === undefined || previous === 'stopping'
          ? []
          : [beganStopping(writesStoppedAtMs)]),
        `${stamp(releasedAtMs ?? 0)}  ${plan.from} stopped it, synced the file system and released the lease` +
          (handedOverTo ? ` to ${handedOverTo}` : ''),
      ];
    }
    case 'taken':
    case 'primary': {
      const takeover = phase.record.takeovers?.at(-1);
      const stopped = takeover?.previousWritesStoppedAtMs;
      // The release came and went between two polls: its time is in the new holder's takeover entry.
      const missedRelease =
        previous === 'requested' && stopped !== undefined
          ? [`${stamp(stopped)}  ${plan.from} began stopping PostgreSQL, then released the lease`]
          : [];
      const lines =
        previous === 'taken'
          ? []
          : [
              ...missedRelease,
              `${stamp(takeover?.acquiredAtMs ?? 0)}  ${plan.to} took the lease (token ${phase.record.fencingToken}, ` +
                `${takeover?.fenced === 'none' ? 'no fencing: the release was clean' : `fenced: ${takeover?.fenced}`})`,
            ];
      if (phase.kind === 'primary') {
        lines.push(
          `${stamp(phase.record.primarySinceMs ?? 0)}  ${plan.to} is primary: PostgreSQL accepts connections ` +
            'and the virtual-IP route points at it',
        );
      }
      return lines;
    }
    case 'taken-by-other':
      return [
        `${phase.record.holderId} took the lease (token ${phase.record.fencingToken}) instead of ${plan.to}: ` +
          'the switchover did not go as asked; see `npm run db -- status`.',
      ];
    case 'lease-gone':
      return ['The lease item is gone or older than the one read: see `npm run db -- status`.'];
  }
}

/** The routes as the controller now sees them, and the write outage the sidecars recorded. */
async function reportOutcome(
  deps: SwitchoverDeps,
  phase: Extract<SwitchoverPhase, { kind: 'primary' }>,
  plan: { fencingToken: number },
): Promise<void> {
  const observation = await observe(deps);
  const decision = decide(observation, deps.config);
  for (const table of decision.tables) {
    deps.print(
      `route ${table.routeTableId} → ${table.currentTarget ?? '(none)'}: ` +
        (table.verdict === 'in-sync' ? 'in sync' : `${table.verdict} (${table.reason})`),
    );
  }
  if (decision.tables.length === 0) deps.print(`routes: ${decision.reason}`);
  const outageMs = measuredWriteOutageMs(phase.record, plan);
  deps.print(
    outageMs === undefined
      ? 'Write outage: not recorded by the sidecars.'
      : `Write outage (the sidecars' events: old primary stopping → new primary ready): ${seconds(outageMs)}`,
  );
}
