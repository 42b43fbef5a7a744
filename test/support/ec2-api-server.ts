// An emulated EC2 Query API on 127.0.0.1: the subset the project calls (DescribeInstances,
// DescribeInstanceStatus, StopInstances, ModifyInstanceAttribute, DescribeRouteTables, CreateRoute, ReplaceRoute),
// answered with responses shaped like EC2's XML. It paginates, honours tag filters and records every request.
// With an `Ec2Timing` it also models what fencing and routing depend on: AWS's stop semantics (graceful OS
// shutdown, Force, SkipOsShutdown; running → stopping → stopped), Describe* results that lag writes (EC2 is
// eventually consistent), instance status checks that turn `impaired` for an unresponsive instance, and faults
// injected on demand. Every default and its source is in test/chaos/ec2-timing.ts.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { STATE_CODES } from '../unit/failover/sdk-fixtures';

export interface FixtureInstance {
  instanceId: string;
  state: 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
  instanceCheck: string;
  systemCheck: string;
  launchTime: string;
  tags: Record<string, string>;
  /** EC2's default for a new instance is true; the promoter turns it off. Omitted: false. */
  sourceDestCheck?: boolean;
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
  atMs: number;
}

/** What the emulator does to the processes of an instance it stops. */
export interface EmulatedHost {
  /** The OS's graceful shutdown: resolves once it is done; never resolves while the OS does not respond. */
  shutdownOs(): Promise<void>;
  /** Power off: every process of the instance dies at once. */
  powerOff(): void;
}

export interface Ec2Timing {
  /** Describe* answer from the state as it was this long ago. */
  describeLagMs: number;
  /** A forced stop gives the graceful OS shutdown this long before it powers the instance off. */
  osShutdownTimeoutMs: number;
  /** Power off → `stopped`. */
  stopDurationMs: number;
  /** An instance whose OS stopped responding reports an `impaired` instance status check after this long. */
  impairedAfterMs: number;
  /** An injected timeout holds the response this long (the request itself is carried out). */
  timeoutFaultMs: number;
}

/** No delays at all: the failover CLI test's fixed worlds. */
export const IMMEDIATE: Ec2Timing = {
  describeLagMs: 0,
  osShutdownTimeoutMs: 0,
  stopDurationMs: 0,
  impairedAfterMs: 0,
  timeoutFaultMs: 0,
};

export type ApiFault = 'throttle' | 'server-error' | 'timeout' | 'incorrect-state';
export const API_FAULTS: readonly ApiFault[] = ['throttle', 'server-error', 'timeout', 'incorrect-state'];

export interface Ec2FixtureServer {
  endpoint: string;
  requests: RecordedRequest[];
  mutations(): RecordedRequest[];
  routeTables: FixtureRouteTable[];
  /** A running instance, with what stopping it does to its processes. */
  launch(instance: FixtureInstance, host?: EmulatedHost): void;
  /** The Auto Scaling group terminates a stopped instance it replaces (its processes are gone by then). */
  terminate(instanceId: string): void;
  /** The instance as it is now (not as Describe* shows it). */
  instance(instanceId: string): FixtureInstance | undefined;
  /** The OS of an instance stopped responding (frozen, crashed), or responds again (undefined). */
  setUnresponsive(instanceId: string, unresponsive: boolean): void;
  /** The next request of `action` gets `fault`. */
  failNext(action: string, fault: ApiFault): void;
  /** From now on each request (of `actions`, default all) gets one of `faults` with probability `rate`. */
  injectFaults(options: { rate: number; faults: readonly ApiFault[]; actions?: readonly string[] }): void;
  /** Faults injected so far, by kind. */
  faultCounts(): Record<ApiFault, number>;
  /** Called after every change of an instance or a route. */
  onChange(listener: () => void): void;
  close(): Promise<void>;
}

const NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

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

function page<T>(
  items: T[],
  params: Record<string, string>,
  size: number,
): { items: T[]; nextToken: string } {
  const start = Number(params.NextToken ?? 0);
  const end = start + size;
  return {
    items: items.slice(start, end),
    nextToken: end < items.length ? element('nextToken', String(end)) : '',
  };
}

const stateXml = (name: string, state: FixtureInstance['state']) =>
  `<${name}><code>${STATE_CODES[state]}</code><name>${state}</name></${name}>`;

function instanceXml(i: FixtureInstance): string {
  return `<item><reservationId>r-${i.instanceId.slice(2)}</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet><item>${element('instanceId', i.instanceId)}<imageId>ami-0123456789abcdef0</imageId>${stateXml('instanceState', i.state)}<privateDnsName>ip-10-0-3-17.eu-west-1.compute.internal</privateDnsName><instanceType>t3.micro</instanceType>${element('launchTime', i.launchTime)}<placement><availabilityZone>eu-west-1a</availabilityZone><tenancy>default</tenancy></placement><subnetId>subnet-0aa11bb22cc33dd44</subnetId><vpcId>vpc-0a1b2c3d4e5f60718</vpcId><privateIpAddress>10.0.3.17</privateIpAddress><sourceDestCheck>${i.sourceDestCheck ?? false}</sourceDestCheck>${tagSet(i.tags)}</item></instancesSet></item>`;
}

function statusXml(i: FixtureInstance): string {
  const check = (name: string, status: string) =>
    `<${name}><status>${status}</status><details><item><name>reachability</name><status>${status === 'ok' ? 'passed' : 'failed'}</status></item></details></${name}>`;
  return `<item>${element('instanceId', i.instanceId)}<availabilityZone>eu-west-1a</availabilityZone>${stateXml('instanceState', i.state)}${check('systemStatus', i.systemCheck)}${check('instanceStatus', i.instanceCheck)}</item>`;
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

interface Snapshot {
  atMs: number;
  instances: FixtureInstance[];
  routeTables: FixtureRouteTable[];
}

/** A stop under way: later calls may escalate it (Force, SkipOsShutdown) before the power goes off. */
interface Stopping {
  poweredOff: boolean;
  /** The Auto Scaling group terminated the instance during the stop: it ends `terminated`, at the same power-off. */
  terminateWhenOff?: boolean;
  escalate(to: 'force' | 'skip-os-shutdown'): void;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const FAULT_ERRORS: Record<Exclude<ApiFault, 'timeout'>, [number, string, string]> = {
  throttle: [503, 'RequestLimitExceeded', 'Request limit exceeded.'],
  'server-error': [500, 'InternalError', 'An internal error has occurred.'],
  'incorrect-state': [
    400,
    'IncorrectInstanceState',
    'The instance is not in a state from which it can be stopped.',
  ],
};

export async function startEc2FixtureServer(
  world: { instances: FixtureInstance[]; routeTables: FixtureRouteTable[] },
  options: { timing?: Ec2Timing; pageSize?: number } = {},
): Promise<Ec2FixtureServer> {
  const timing = options.timing ?? IMMEDIATE;
  // Small pages by default, so that every Describe call the controller makes has to follow nextToken.
  const pageSize = options.pageSize ?? 1;
  const requests: RecordedRequest[] = [];
  const { instances, routeTables } = world;
  const hosts = new Map<string, EmulatedHost>();
  const stopping = new Map<string, Stopping>();
  const unresponsiveSince = new Map<string, number>();
  const listeners: (() => void)[] = [];
  const oneShot: { action: string; fault: ApiFault }[] = [];
  let random: { rate: number; faults: readonly ApiFault[]; actions?: readonly string[] } = {
    rate: 0,
    faults: [],
  };
  const counts: Record<ApiFault, number> = {
    throttle: 0,
    'server-error': 0,
    timeout: 0,
    'incorrect-state': 0,
  };
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  /** Status checks and blackholes are derived from the instance states at a moment. */
  function derive(atMs: number): void {
    for (const i of instances) {
      if (!hosts.has(i.instanceId)) continue; // a fixed world keeps the checks it was given
      const since = unresponsiveSince.get(i.instanceId);
      const impaired = since !== undefined && atMs - since >= timing.impairedAfterMs;
      i.instanceCheck = i.state !== 'running' ? 'not-applicable' : impaired ? 'impaired' : 'ok';
      i.systemCheck = i.state === 'running' ? 'ok' : 'not-applicable';
    }
    for (const table of routeTables) {
      for (const route of table.routes) {
        if (!route.instanceId) continue;
        const target = instances.find((i) => i.instanceId === route.instanceId);
        if (target && hosts.has(target.instanceId))
          route.state = target.state === 'running' || target.state === 'stopping' ? 'active' : 'blackhole';
      }
    }
  }

  // Describe* read from the history: the newest snapshot at least `describeLagMs` old.
  const history: Snapshot[] = [];
  function commit(): void {
    const atMs = performance.now();
    derive(atMs);
    history.push({ atMs, instances: structuredClone(instances), routeTables: structuredClone(routeTables) });
    // Keep one snapshot older than the lag; the rest are too old to be read again.
    while (history.length > 1 && (history[1] as Snapshot).atMs <= atMs - timing.describeLagMs - 1000)
      history.shift();
    for (const listener of listeners) listener();
  }
  function view(): { instances: FixtureInstance[]; routeTables: FixtureRouteTable[] } {
    if (timing.describeLagMs === 0 || history.length === 0) {
      derive(performance.now());
      return { instances, routeTables };
    }
    const seenAt = performance.now() - timing.describeLagMs;
    let seen = history[0] as Snapshot;
    for (const snapshot of history) if (snapshot.atMs <= seenAt) seen = snapshot;
    // Status checks change with time alone (an instance turning impaired), not only with writes.
    const frozenChecks = structuredClone(seen.instances);
    for (const i of frozenChecks) {
      const since = unresponsiveSince.get(i.instanceId);
      if (hosts.has(i.instanceId) && i.state === 'running' && since !== undefined)
        i.instanceCheck = seenAt - since >= timing.impairedAfterMs ? 'impaired' : 'ok';
    }
    return { instances: frozenChecks, routeTables: seen.routeTables };
  }

  function find(instanceId: string | undefined): FixtureInstance {
    const found = instances.find((i) => i.instanceId === instanceId);
    if (!found)
      throw new ApiError(400, 'InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
    return found;
  }

  function setState(i: FixtureInstance, state: FixtureInstance['state']): void {
    i.state = state;
    commit();
  }

  /** StopInstances for one instance: graceful, forced (graceful with a timeout) or skipping the OS shutdown. */
  function stop(i: FixtureInstance, mode: 'graceful' | 'force' | 'skip-os-shutdown'): void {
    if (i.state === 'stopped' || i.state === 'terminated') return;
    if (i.state === 'pending' || i.state === 'shutting-down')
      throw new ApiError(
        400,
        'IncorrectInstanceState',
        `The instance '${i.instanceId}' is not in a state from which it can be stopped.`,
      );
    const under = stopping.get(i.instanceId);
    if (under) {
      if (mode !== 'graceful') under.escalate(mode);
      return;
    }
    const host = hosts.get(i.instanceId);
    let escalate: (to: 'force' | 'skip-os-shutdown') => void = () => {};
    const escalated = new Promise<'force' | 'skip-os-shutdown'>((resolve) => {
      escalate = resolve;
    });
    const state: Stopping = { poweredOff: false, escalate: (to) => escalate(to) };
    stopping.set(i.instanceId, state);
    setState(i, 'stopping');
    const forcedAfterTimeout = (): Promise<void> => sleep(timing.osShutdownTimeoutMs);
    void (async () => {
      if (mode !== 'skip-os-shutdown') {
        const graceful = host ? host.shutdownOs() : Promise.resolve();
        const force = mode === 'force' ? forcedAfterTimeout() : new Promise<void>(() => {});
        await Promise.race([
          graceful,
          force,
          escalated.then((to) => (to === 'force' ? forcedAfterTimeout() : undefined)),
        ]);
      }
      // The instance keeps running while it is `stopping`: its processes, its page cache and its writes go on
      // until the power-off, which AWS reports as `stopped`. AWS documents neither moment; the emulator powers
      // off at the end of `stopping`, the latest moment `stopped` allows, so a fence that settles for
      // `stopping` meets a live instance.
      await sleep(timing.stopDurationMs);
      if (closed) return;
      host?.powerOff();
      state.poweredOff = true;
      unresponsiveSince.delete(i.instanceId);
      stopping.delete(i.instanceId);
      setState(i, state.terminateWhenOff ? 'terminated' : 'stopped');
    })();
  }

  function pickFault(action: string): ApiFault | undefined {
    const queued = oneShot.findIndex((f) => f.action === action);
    if (queued >= 0) return oneShot.splice(queued, 1)[0]?.fault;
    if (random.actions && !random.actions.includes(action)) return undefined;
    if (random.rate <= 0 || Math.random() >= random.rate) return undefined;
    // IncorrectInstanceState is an answer only StopInstances gives.
    const applicable = random.faults.filter((f) => f !== 'incorrect-state' || action === 'StopInstances');
    return applicable[Math.floor(Math.random() * applicable.length)];
  }

  function answer(action: string, params: Record<string, string>): string {
    switch (action) {
      case 'DescribeInstances': {
        const ids = list(params, 'InstanceId');
        const seen = view().instances;
        for (const id of ids)
          if (!seen.some((i) => i.instanceId === id))
            throw new ApiError(400, 'InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
        const { items, nextToken } = page(
          seen.filter(
            (i) => (ids.length === 0 || ids.includes(i.instanceId)) && matchesFilters(params, i.tags),
          ),
          params,
          pageSize,
        );
        return response(
          action,
          `<reservationSet>${items.map(instanceXml).join('')}</reservationSet>${nextToken}`,
        );
      }
      case 'DescribeInstanceStatus': {
        const ids = list(params, 'InstanceId');
        const seen = view().instances;
        const running =
          params.IncludeAllInstances === 'true' ? seen : seen.filter((i) => i.state === 'running');
        const { items, nextToken } = page(
          running.filter((i) => ids.includes(i.instanceId)),
          params,
          pageSize,
        );
        return response(
          action,
          `<instanceStatusSet>${items.map(statusXml).join('')}</instanceStatusSet>${nextToken}`,
        );
      }
      case 'DescribeRouteTables': {
        const ids = list(params, 'RouteTableId');
        const { items, nextToken } = page(
          view().routeTables.filter(
            (t) => (ids.length === 0 || ids.includes(t.routeTableId)) && matchesFilters(params, t.tags),
          ),
          params,
          pageSize,
        );
        return response(
          action,
          `<routeTableSet>${items.map(routeTableXml).join('')}</routeTableSet>${nextToken}`,
        );
      }
      case 'StopInstances': {
        const targets = list(params, 'InstanceId').map(find);
        const mode =
          params.SkipOsShutdown === 'true'
            ? 'skip-os-shutdown'
            : params.Force === 'true'
              ? 'force'
              : 'graceful';
        const items = targets.map((i) => {
          const previous = i.state;
          stop(i, mode);
          return `<item>${element('instanceId', i.instanceId)}${stateXml('currentState', i.state)}${stateXml('previousState', previous)}</item>`;
        });
        return response(action, `<instancesSet>${items.join('')}</instancesSet>`);
      }
      case 'ModifyInstanceAttribute': {
        const i = find(params.InstanceId);
        if (params['SourceDestCheck.Value'] === undefined)
          throw new ApiError(400, 'InvalidParameterCombination', 'only SourceDestCheck is emulated');
        i.sourceDestCheck = params['SourceDestCheck.Value'] === 'true';
        commit();
        return response(action, '<return>true</return>');
      }
      case 'CreateRoute':
      case 'ReplaceRoute': {
        const table = routeTables.find((t) => t.routeTableId === params.RouteTableId);
        if (!table)
          throw new ApiError(
            400,
            'InvalidRouteTableID.NotFound',
            `The routeTable ID '${params.RouteTableId}' does not exist`,
          );
        const existing = table.routes.findIndex(
          (r) => r.destinationCidrBlock === params.DestinationCidrBlock,
        );
        if (action === 'CreateRoute' && existing >= 0)
          throw new ApiError(
            400,
            'RouteAlreadyExists',
            `The route identified by ${params.DestinationCidrBlock} already exists.`,
          );
        if (action === 'ReplaceRoute' && existing < 0)
          throw new ApiError(400, 'InvalidRoute.NotFound', 'no route with destination-cidr-block');
        if (hosts.size > 0) find(params.InstanceId);
        const route: FixtureRoute = {
          destinationCidrBlock: params.DestinationCidrBlock ?? '',
          instanceId: params.InstanceId ?? '',
          state: 'active',
        };
        if (existing >= 0) table.routes[existing] = route;
        else table.routes.push(route);
        commit();
        return response(action, '<return>true</return>');
      }
      default:
        throw new ApiError(400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
    }
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const action = params.Action ?? '';
      requests.push({ action, params, atMs: performance.now() });
      const send = (status: number, body: string) =>
        res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' }).end(body);
      const fault = pickFault(action);
      if (fault) counts[fault] += 1;
      if (fault && fault !== 'timeout') {
        const [status, code, message] = FAULT_ERRORS[fault];
        send(status, errorResponse(code, message));
        return;
      }
      let status = 200;
      let body: string;
      try {
        body = answer(action, params);
      } catch (error) {
        if (error instanceof ApiError)
          [status, body] = [error.status, errorResponse(error.code, error.message)];
        else [status, body] = [400, errorResponse('InvalidParameterValue', String(error))];
      }
      // A timeout: the request was carried out, its answer is late (the client has given up by then).
      if (fault === 'timeout')
        void sleep(timing.timeoutFaultMs).then(() => !res.destroyed && send(status, body));
      else send(status, body);
    });
  });
  // Node's default (5 s) closes idle connections just as a client on a 5 s schedule reuses them (ECONNRESET);
  // AWS endpoints keep idle connections far longer.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    mutations: () =>
      requests.filter((r) =>
        ['CreateRoute', 'ReplaceRoute', 'StopInstances', 'ModifyInstanceAttribute'].includes(r.action),
      ),
    routeTables,
    launch(instance, host) {
      instances.push(instance);
      if (host) hosts.set(instance.instanceId, host);
      commit();
    },
    terminate(instanceId) {
      const i = instances.find((candidate) => candidate.instanceId === instanceId);
      if (!i) return;
      // Terminating an instance that is being stopped does not power it off any sooner: no Auto Scaling action
      // ends a fence early.
      const under = stopping.get(instanceId);
      if (under && !under.poweredOff) {
        under.terminateWhenOff = true;
        return;
      }
      hosts.get(instanceId)?.powerOff();
      stopping.delete(instanceId);
      unresponsiveSince.delete(instanceId);
      setState(i, 'terminated');
    },
    instance: (instanceId) => instances.find((i) => i.instanceId === instanceId),
    setUnresponsive(instanceId, unresponsive) {
      if (unresponsive && !unresponsiveSince.has(instanceId))
        unresponsiveSince.set(instanceId, performance.now());
      if (!unresponsive) unresponsiveSince.delete(instanceId);
      commit();
    },
    failNext: (action, fault) => oneShot.push({ action, fault }),
    injectFaults(settings) {
      random = settings;
    },
    faultCounts: () => ({ ...counts }),
    onChange: (listener) => listeners.push(listener),
    close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
