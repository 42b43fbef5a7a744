import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type EC2Client,
  type Filter,
  type Instance,
  type InstanceStatus,
  paginateDescribeInstanceStatus,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';
import { readLease } from '../../shared/lease-table/read-lease';
import { type ObservedRouteTable, readVipRoutes, tagsOf } from '../../shared/vip-routes';
import type { FailoverConfig } from './config';
import type { Deadline } from './deadline';
import { toInstanceState, toStatusCheck } from './ec2-state';
import { callAws } from './errors';
import {
  DATABASE_TAG,
  type Observation,
  type ObservedInstance,
  type ObservedLease,
  STAGE_TAG_KEY,
} from './observation';

interface ObserveDeps {
  ec2: EC2Client;
  /** Needed only when LEASE_TABLE is set. */
  dynamodb: DynamoDBClient | undefined;
  config: FailoverConfig;
  deadline: Deadline;
  now: () => number;
}

// DescribeInstanceStatus accepts at most 100 explicit instance ids per request.
const STATUS_IDS_PER_REQUEST = 100;

function stageFilters(stage: string): Filter[] {
  return [
    { Name: `tag:${DATABASE_TAG.key}`, Values: [DATABASE_TAG.value] },
    { Name: `tag:${STAGE_TAG_KEY}`, Values: [stage] },
  ];
}

/** Drains a paginator, checking the deadline before each page. */
async function allPages<P>(operation: string, deadline: Deadline, pages: AsyncIterable<P>): Promise<P[]> {
  return callAws(operation, async () => {
    const result: P[] = [];
    deadline.ensureTimeFor(operation);
    for await (const page of pages) {
      result.push(page);
      deadline.ensureTimeFor(operation);
    }
    return result;
  });
}

async function describeInstances(deps: ObserveDeps): Promise<Instance[]> {
  const pages = await allPages(
    'DescribeInstances',
    deps.deadline,
    paginateDescribeInstances({ client: deps.ec2 }, { Filters: stageFilters(deps.config.stage) }),
  );
  return pages.flatMap((page) =>
    (page.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? []),
  );
}

async function describeStatuses(
  deps: ObserveDeps,
  instanceIds: string[],
): Promise<Map<string, InstanceStatus>> {
  const statuses = new Map<string, InstanceStatus>();
  for (let start = 0; start < instanceIds.length; start += STATUS_IDS_PER_REQUEST) {
    const pages = await allPages(
      'DescribeInstanceStatus',
      deps.deadline,
      paginateDescribeInstanceStatus(
        { client: deps.ec2 },
        // IncludeAllInstances: without it, instances that are not running are simply left out.
        { InstanceIds: instanceIds.slice(start, start + STATUS_IDS_PER_REQUEST), IncludeAllInstances: true },
      ),
    );
    for (const status of pages.flatMap((page) => page.InstanceStatuses ?? [])) {
      if (status.InstanceId) statuses.set(status.InstanceId, status);
    }
  }
  return statuses;
}

async function observeInstances(deps: ObserveDeps): Promise<ObservedInstance[]> {
  const instances = (await describeInstances(deps)).filter((instance) => instance.InstanceId);
  const ids = instances.map((instance) => instance.InstanceId as string);
  const statuses = await describeStatuses(deps, ids);
  return instances.map((instance) => {
    const instanceId = instance.InstanceId as string;
    const status = statuses.get(instanceId);
    return {
      instanceId,
      state: toInstanceState(instance.State?.Name),
      instanceStatus: toStatusCheck(status?.InstanceStatus?.Status),
      systemStatus: toStatusCheck(status?.SystemStatus?.Status),
      launchTimeMs: instance.LaunchTime?.getTime(),
      availabilityZone: instance.Placement?.AvailabilityZone,
      tags: tagsOf(instance.Tags),
    };
  });
}

/** Reads the stage's route tables (or the given ones, to verify a change after acting). */
export function describeRouteTables(
  deps: Pick<ObserveDeps, 'ec2' | 'config' | 'deadline'>,
  routeTableIds?: string[],
): Promise<ObservedRouteTable[]> {
  return callAws('DescribeRouteTables', () =>
    readVipRoutes(
      deps.ec2,
      routeTableIds ? { routeTableIds } : { filters: stageFilters(deps.config.stage) },
      deps.config.destinationCidrBlock,
      { beforePage: () => deps.deadline.ensureTimeFor('DescribeRouteTables') },
    ),
  );
}

/** One consistent read of the lease item (also polled on its own by `npm run db -- switchover`). */
export async function observeLease(
  deps: Pick<ObserveDeps, 'dynamodb' | 'config' | 'deadline'>,
): Promise<ObservedLease> {
  const { leaseTable } = deps.config;
  if (leaseTable === undefined) return { kind: 'disabled' };
  const { dynamodb } = deps;
  if (dynamodb === undefined) throw new Error('LEASE_TABLE is set but no DynamoDB client was given');
  deps.deadline.ensureTimeFor('GetItem');
  const lease = await callAws('GetItem', () =>
    readLease({ client: dynamodb, table: leaseTable, name: deps.config.leaseName }),
  );
  // A malformed item names no holder the controller could route to: the same as none.
  return lease.kind === 'present' ? lease : { kind: 'absent' };
}

/** Observes instances, route tables and the lease concurrently; read-only. */
export async function observe(deps: ObserveDeps): Promise<Observation> {
  const [instances, routeTables, lease] = await Promise.all([
    observeInstances(deps),
    describeRouteTables(deps),
    observeLease(deps),
  ]);
  return { nowMs: deps.now(), instances, routeTables, lease };
}
