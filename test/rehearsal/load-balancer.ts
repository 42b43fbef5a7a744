// The Application Load Balancer and its target group, small: an HTTP proxy on 127.0.0.1 that routes round-robin
// over the healthy registered targets, health-checks them with the target group's settings, drains on
// deregistration and answers 502/503 as an ALB does. Every request is logged (time, status, latency, target),
// which is what the report's request charts and the RequestCountPerTarget metric are made of.
//
// Sources (AWS documentation, elasticloadbalancing/latest/application/):
// - target-group-health-checks.html: a check every HealthCheckIntervalSeconds, failed when no matching answer
//   within HealthCheckTimeoutSeconds; UnhealthyThresholdCount consecutive failures make a target unhealthy,
//   HealthyThresholdCount consecutive successes healthy again; "After your target is registered, it must pass one
//   health check to be considered healthy"; "If a target group contains only unhealthy registered targets, the load
//   balancer routes requests to all those targets" (fail-open).
// - load-balancer-target-groups.html, "Deregistration delay": a deregistering target gets no new requests; in-flight
//   requests may complete until the delay ends (the deregistration completes at once when there are none), then
//   the load balancer closes what is left.
// - load-balancer-troubleshooting.html: 502 when the target refuses or resets the connection or its answer is
//   malformed; 503 when the target group has no registered targets.
// - load-balancer-target-groups.html, "Routing algorithm": round_robin is the default.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type TargetHealth = 'initial' | 'healthy' | 'unhealthy' | 'draining';

interface Target {
  id: string;
  port: number;
  health: TargetHealth;
  successes: number;
  failures: number;
  inFlight: Set<http.ClientRequest>;
  agent: http.Agent;
  timer?: NodeJS.Timeout;
  drained?: () => void;
}

export interface RequestRecord {
  /** ms since the rehearsal's start, when the request arrived. */
  at: number;
  ms: number;
  status: number;
  target: string | null;
  path: string;
}

export interface HealthSettings {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  matcher: number;
}

export interface LoadBalancer {
  url: string;
  register(id: string, port: number): void;
  /** Stops routing to the target, waits for its in-flight requests up to `delayMs`, then aborts the rest. */
  deregister(id: string, delayMs: number): Promise<{ abortedRequests: number }>;
  health(id: string): TargetHealth | undefined;
  targets(): { id: string; health: TargetHealth }[];
  /** Requests logged since the last call (the caller keeps them). */
  takeLog(): RequestRecord[];
  /** Requests received since the start. */
  received(): number;
  close(): Promise<void>;
}

export async function startLoadBalancer(options: {
  health: HealthSettings;
  now: () => number;
  onHealthChange: (id: string, from: TargetHealth, to: TargetHealth) => void;
}): Promise<LoadBalancer> {
  const { health, now } = options;
  const targets = new Map<string, Target>();
  let log: RequestRecord[] = [];
  let received = 0;
  let next = 0;

  const setHealth = (target: Target, to: TargetHealth) => {
    if (target.health === to) return;
    const from = target.health;
    target.health = to;
    options.onHealthChange(target.id, from, to);
  };

  const check = (target: Target) => {
    const request = http.get(
      { host: '127.0.0.1', port: target.port, path: health.path, timeout: health.timeoutMs, agent: false },
      (response) => {
        response.resume();
        record(response.statusCode === health.matcher);
      },
    );
    let done = false;
    const record = (ok: boolean) => {
      if (done || target.health === 'draining') return;
      done = true;
      if (ok) {
        target.successes++;
        target.failures = 0;
        const needed = target.health === 'initial' ? 1 : health.healthyThreshold;
        if (target.health !== 'healthy' && target.successes >= needed) setHealth(target, 'healthy');
      } else {
        target.failures++;
        target.successes = 0;
        if (target.health !== 'unhealthy' && target.failures >= health.unhealthyThreshold)
          setHealth(target, 'unhealthy');
      }
    };
    request.on('timeout', () => {
      request.destroy();
      record(false);
    });
    request.on('error', () => record(false));
  };

  const pick = (): Target | undefined => {
    const registered = [...targets.values()].filter((t) => t.health !== 'draining');
    const healthy = registered.filter((t) => t.health === 'healthy');
    const pool = healthy.length > 0 ? healthy : registered; // fail-open
    if (pool.length === 0) return undefined;
    next = (next + 1) % pool.length;
    return pool[next];
  };

  const server = http.createServer((req, res) => {
    const at = now();
    received++;
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const finish = (status: number, target: string | null) =>
      log.push({ at, ms: performance.now() - started, status, target, path });
    const target = pick();
    if (!target) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('503 Service Temporarily Unavailable');
      finish(503, null);
      return;
    }
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' },
        agent: target.agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => {
          release();
          finish(answer.statusCode ?? 502, target.id);
        });
        answer.on('error', () => {
          release();
          res.destroy();
          finish(502, target.id);
        });
      },
    );
    target.inFlight.add(upstream);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      target.inFlight.delete(upstream);
      if (target.inFlight.size === 0) target.drained?.();
    };
    upstream.on('error', () => {
      release();
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' }).end('502 Bad Gateway');
        finish(502, target.id);
      } else if (!res.writableEnded) {
        res.destroy();
        finish(502, target.id);
      }
    });
    req.pipe(upstream);
    // A client that gives up cancels the request to the target, as the ALB does.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
  });
  server.keepAliveTimeout = 60_000; // the ALB's default idle timeout
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    register(id, targetPort) {
      const target: Target = {
        id,
        port: targetPort,
        health: 'initial',
        successes: 0,
        failures: 0,
        inFlight: new Set(),
        agent: new http.Agent({ keepAlive: true }),
      };
      targets.set(id, target);
      options.onHealthChange(id, 'initial', 'initial');
      check(target);
      target.timer = setInterval(() => check(target), health.intervalMs);
    },
    async deregister(id, delayMs) {
      const target = targets.get(id);
      if (!target) return { abortedRequests: 0 };
      clearInterval(target.timer);
      setHealth(target, 'draining');
      if (target.inFlight.size > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          target.drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const aborted = target.inFlight.size;
      for (const request of target.inFlight) request.destroy(new Error('deregistration delay over'));
      target.agent.destroy();
      targets.delete(id);
      return { abortedRequests: aborted };
    },
    health: (id) => targets.get(id)?.health,
    targets: () => [...targets.values()].map((t) => ({ id: t.id, health: t.health })),
    received: () => received,
    takeLog() {
      const taken = log;
      log = [];
      return taken;
    },
    async close() {
      for (const target of targets.values()) {
        clearInterval(target.timer);
        target.agent.destroy();
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
