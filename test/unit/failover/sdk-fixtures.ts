// Describe responses shaped as the EC2 API returns them (SDK v3 output types), for the SDK-edge tests.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type {
  Instance,
  InstanceStateName,
  InstanceStatus,
  Route,
  RouteTable,
  SummaryStatus,
  Tag,
} from '@aws-sdk/client-ec2';

export const STAGE = 'prod';
const VPC_ID = 'vpc-0a1b2c3d4e5f60718';
const stageTags: Tag[] = [
  { Key: 'Name', Value: 'cloudy-prod-database' },
  { Key: 'database', Value: 'true' },
  { Key: 'cloudy:stage', Value: STAGE },
  { Key: 'aws:autoscaling:groupName', Value: 'cloudy-prod-DatabaseGroup-1XYZ' },
];

/** EC2's numeric code for each instance state, as the API reports it beside the name. */
export const STATE_CODES: Record<string, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export function ec2Instance(instanceId: string, state: InstanceStateName, launched: string): Instance {
  return {
    InstanceId: instanceId,
    ImageId: 'ami-0123456789abcdef0',
    InstanceType: 't3.micro',
    LaunchTime: new Date(launched),
    State: { Code: STATE_CODES[state] ?? 0, Name: state },
    PrivateIpAddress: '10.0.3.17',
    SubnetId: 'subnet-0aa11bb22cc33dd44',
    VpcId: VPC_ID,
    SourceDestCheck: false,
    Tags: stageTags,
  };
}

export function ec2Status(
  instanceId: string,
  state: InstanceStateName,
  instanceCheck: SummaryStatus,
  systemCheck: SummaryStatus,
): InstanceStatus {
  return {
    InstanceId: instanceId,
    AvailabilityZone: 'eu-west-1a',
    InstanceState: { Code: STATE_CODES[state] ?? 0, Name: state },
    InstanceStatus: { Status: instanceCheck, Details: [{ Name: 'reachability', Status: 'passed' }] },
    SystemStatus: { Status: systemCheck, Details: [{ Name: 'reachability', Status: 'passed' }] },
  };
}

export function ec2RouteTable(routeTableId: string, vipRoute: Route | undefined): RouteTable {
  const routes: Route[] = [
    { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' },
    {
      DestinationCidrBlock: '0.0.0.0/0',
      GatewayId: 'igw-0f1e2d3c4b5a69788',
      Origin: 'CreateRoute',
      State: 'active',
    },
  ];
  return {
    RouteTableId: routeTableId,
    VpcId: VPC_ID,
    OwnerId: '123456789012',
    Associations: [],
    PropagatingVgws: [],
    Routes: vipRoute ? [...routes, vipRoute] : routes,
    Tags: stageTags.filter((tag) => tag.Key !== 'aws:autoscaling:groupName'),
  };
}

export function vipRoute(instanceId: string, state: 'active' | 'blackhole' = 'active'): Route {
  return {
    DestinationCidrBlock: '10.10.10.10/32',
    InstanceId: instanceId,
    InstanceOwnerId: '123456789012',
    NetworkInterfaceId: 'eni-0123456789abcdef0',
    Origin: 'CreateRoute',
    State: state,
  };
}

export function leaseItem(holderId: string, nowMs: number, primary = true): Record<string, AttributeValue> {
  return {
    lockName: { S: 'database-primary' },
    holderId: { S: holderId },
    fencingToken: { N: '12' },
    expiresAtMs: { N: String(nowMs + 8_000) },
    ...(primary ? { primarySinceMs: { N: String(nowMs - 120_000) } } : {}),
  };
}
