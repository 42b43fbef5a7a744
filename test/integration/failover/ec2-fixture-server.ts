// A small EC2 Query API on 127.0.0.1 for the end-to-end test: it answers the calls the failover controller makes
// with responses shaped like EC2's XML, paginates, honours tag filters, applies route changes and records them.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { STATE_CODES } from '../../unit/failover/sdk-fixtures';

export interface FixtureInstance {
  instanceId: string;
  state: 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
  instanceCheck: string;
  systemCheck: string;
  launchTime: string;
  tags: Record<string, string>;
}

export interface FixtureRoute {
  destinationCidrBlock: string;
  instanceId?: string;
  gatewayId?: string;
  state: 'active' | 'blackhole';
}

export interface FixtureRouteTable {
  routeTableId: string;
  routes: FixtureRoute[];
  tags: Record<string, string>;
}

export interface RecordedRequest {
  action: string;
  params: Record<string, string>;
}

export interface Ec2FixtureServer {
  endpoint: string;
  requests: RecordedRequest[];
  mutations(): RecordedRequest[];
  routeTables: FixtureRouteTable[];
  close(): Promise<void>;
}

const NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
// Small pages, so that every Describe call the controller makes has to follow nextToken.
const PAGE_SIZE = 1;

function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function element(name: string, value: string | undefined): string {
  return value === undefined ? '' : `<${name}>${escapeXml(value)}</${name}>`;
}

function tagSet(tags: Record<string, string>): string {
  const items = Object.entries(tags).map(
    ([key, value]) => `<item>${element('key', key)}${element('value', value)}</item>`,
  );
  return `<tagSet>${items.join('')}</tagSet>`;
}

function response(action: string, body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NS}"><requestId>${randomUUID()}</requestId>${body}</${action}Response>`;
}

function errorResponse(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`;
}

/** `Prefix.1=a&Prefix.2=b` → ['a', 'b'] */
function list(params: Record<string, string>, prefix: string): string[] {
  return Object.keys(params)
    .filter((key) => new RegExp(`^${prefix}\\.\\d+$`).test(key))
    .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()))
    .map((key) => params[key] as string);
}

/** Only tag:KEY filters are understood; any other filter is a request this fixture cannot answer truthfully. */
function matchesFilters(params: Record<string, string>, tags: Record<string, string>): boolean {
  for (let n = 1; params[`Filter.${n}.Name`] !== undefined; n++) {
    const name = params[`Filter.${n}.Name`] as string;
    if (!name.startsWith('tag:')) throw new Error(`unsupported filter ${name}`);
    const values = list(params, `Filter.${n}.Value`);
    if (!values.includes(tags[name.slice(4)] ?? '\u0000')) return false;
  }
  return true;
}

function page<T>(items: T[], params: Record<string, string>): { items: T[]; nextToken: string } {
  const start = Number(params.NextToken ?? 0);
  const end = start + PAGE_SIZE;
  return {
    items: items.slice(start, end),
    nextToken: end < items.length ? element('nextToken', String(end)) : '',
  };
}

function instanceXml(i: FixtureInstance): string {
  return `<item><reservationId>r-${i.instanceId.slice(2)}</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet><item>${element('instanceId', i.instanceId)}<imageId>ami-0123456789abcdef0</imageId><instanceState><code>${STATE_CODES[i.state]}</code><name>${i.state}</name></instanceState><privateDnsName>ip-10-0-3-17.eu-west-1.compute.internal</privateDnsName><instanceType>t3.micro</instanceType>${element('launchTime', i.launchTime)}<placement><availabilityZone>eu-west-1a</availabilityZone><tenancy>default</tenancy></placement><subnetId>subnet-0aa11bb22cc33dd44</subnetId><vpcId>vpc-0a1b2c3d4e5f60718</vpcId><privateIpAddress>10.0.3.17</privateIpAddress><sourceDestCheck>false</sourceDestCheck>${tagSet(i.tags)}</item></instancesSet></item>`;
}

function statusXml(i: FixtureInstance): string {
  const check = (name: string, status: string) =>
    `<${name}><status>${status}</status><details><item><name>reachability</name><status>${status === 'ok' ? 'passed' : 'failed'}</status></item></details></${name}>`;
  return `<item>${element('instanceId', i.instanceId)}<availabilityZone>eu-west-1a</availabilityZone><instanceState><code>${STATE_CODES[i.state]}</code><name>${i.state}</name></instanceState>${check('systemStatus', i.systemCheck)}${check('instanceStatus', i.instanceCheck)}</item>`;
}

function routeXml(r: FixtureRoute): string {
  const target = r.instanceId
    ? `${element('instanceId', r.instanceId)}<instanceOwnerId>123456789012</instanceOwnerId><networkInterfaceId>eni-0123456789abcdef0</networkInterfaceId>`
    : element('gatewayId', r.gatewayId);
  return `<item>${element('destinationCidrBlock', r.destinationCidrBlock)}${target}<state>${r.state}</state><origin>${r.gatewayId === 'local' ? 'CreateRouteTable' : 'CreateRoute'}</origin></item>`;
}

function routeTableXml(t: FixtureRouteTable): string {
  return `<item>${element('routeTableId', t.routeTableId)}<vpcId>vpc-0a1b2c3d4e5f60718</vpcId><ownerId>123456789012</ownerId><routeSet>${t.routes.map(routeXml).join('')}</routeSet><associationSet/><propagatingVgwSet/>${tagSet(t.tags)}</item>`;
}

export async function startEc2FixtureServer(world: {
  instances: FixtureInstance[];
  routeTables: FixtureRouteTable[];
}): Promise<Ec2FixtureServer> {
  const requests: RecordedRequest[] = [];
  const { instances, routeTables } = world;

  function answer(action: string, params: Record<string, string>): [number, string] {
    switch (action) {
      case 'DescribeInstances': {
        const { items, nextToken } = page(
          instances.filter((i) => matchesFilters(params, i.tags)),
          params,
        );
        return [
          200,
          response(action, `<reservationSet>${items.map(instanceXml).join('')}</reservationSet>${nextToken}`),
        ];
      }
      case 'DescribeInstanceStatus': {
        const ids = list(params, 'InstanceId');
        const running =
          params.IncludeAllInstances === 'true' ? instances : instances.filter((i) => i.state === 'running');
        const { items, nextToken } = page(
          running.filter((i) => ids.includes(i.instanceId)),
          params,
        );
        return [
          200,
          response(
            action,
            `<instanceStatusSet>${items.map(statusXml).join('')}</instanceStatusSet>${nextToken}`,
          ),
        ];
      }
      case 'DescribeRouteTables': {
        const ids = list(params, 'RouteTableId');
        const { items, nextToken } = page(
          routeTables.filter(
            (t) => (ids.length === 0 || ids.includes(t.routeTableId)) && matchesFilters(params, t.tags),
          ),
          params,
        );
        return [
          200,
          response(action, `<routeTableSet>${items.map(routeTableXml).join('')}</routeTableSet>${nextToken}`),
        ];
      }
      case 'CreateRoute':
      case 'ReplaceRoute': {
        const table = routeTables.find((t) => t.routeTableId === params.RouteTableId);
        if (!table)
          return [
            400,
            errorResponse(
              'InvalidRouteTableID.NotFound',
              `The routeTable ID '${params.RouteTableId}' does not exist`,
            ),
          ];
        const existing = table.routes.findIndex(
          (r) => r.destinationCidrBlock === params.DestinationCidrBlock,
        );
        if (action === 'CreateRoute' && existing >= 0)
          return [
            400,
            errorResponse('RouteAlreadyExists', 'The route identified by 10.10.10.10/32 already exists.'),
          ];
        if (action === 'ReplaceRoute' && existing < 0)
          return [400, errorResponse('InvalidRoute.NotFound', 'no route with destination-cidr-block')];
        const route: FixtureRoute = {
          destinationCidrBlock: params.DestinationCidrBlock ?? '',
          instanceId: params.InstanceId ?? '',
          state: 'active',
        };
        if (existing >= 0) table.routes[existing] = route;
        else table.routes.push(route);
        return [200, response(action, '<return>true</return>')];
      }
      default:
        return [
          400,
          errorResponse('InvalidAction', `The action ${action} is not valid for this web service.`),
        ];
    }
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const action = params.Action ?? '';
      requests.push({ action, params });
      let status: number;
      let body: string;
      try {
        [status, body] = answer(action, params);
      } catch (error) {
        [status, body] = [400, errorResponse('InvalidParameterValue', String(error))];
      }
      res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    mutations: () => requests.filter((r) => r.action === 'CreateRoute' || r.action === 'ReplaceRoute'),
    routeTables,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
