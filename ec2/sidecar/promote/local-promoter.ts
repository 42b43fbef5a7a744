import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { SidecarLogger } from '../log-events';
import { PromoteError, type Promoter } from './promoter';

/** Local mode's "route": a file naming the primary's port, for a development client to follow as clients follow the VIP. */
interface LocalRoute {
  holderId: string;
  port: number;
  fencingToken: number;
}

function readLocalRoute(file: string): LocalRoute | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LocalRoute;
  } catch {
    return undefined;
  }
}

export function localPromoter(options: {
  routeFile: string;
  holderId: string;
  port: number;
  logger: SidecarLogger;
  /** While this file exists, every promotion fails as EC2 throttling would (the fault suite's ec2-errors). */
  failWhileExists?: string;
}): Promoter {
  const { routeFile, holderId, port, logger, failWhileExists } = options;
  return {
    async promote({ fencingToken }) {
      if (failWhileExists && existsSync(failWhileExists))
        throw new PromoteError('route update failed', {
          cause: new Error('RequestLimitExceeded (injected)'),
        });
      const current = readLocalRoute(routeFile);
      if (current?.holderId === holderId && current.fencingToken === fencingToken) return;
      const route: LocalRoute = { holderId, port, fencingToken };
      const temporary = `${routeFile}.${holderId}.tmp`;
      writeFileSync(temporary, JSON.stringify(route));
      renameSync(temporary, routeFile);
      logger.warn({ event: 'route-moved', ...route }, 'local route moved');
    },
  };
}
