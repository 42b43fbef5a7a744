import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock';
import type { SidecarLogger } from '../log-events';
import { isLive, listProcesses, readProcess, signal } from '../proc/process-table';
import { FenceError, type Fencer } from './fencer';

interface Registration {
  /** The sidecar leads its own process group; its PostgreSQL runs inside that group. */
  pgid: number;
  startTime: number;
}

/**
 * Local stand-in for the EC2 forced stop, for the fault-injection suite on one machine: every sidecar registers
 * its process group under its id; fencing SIGKILLs that whole group and waits until no member is alive.
 */
export function localFencer(options: {
  registryDir: string;
  clock: Clock;
  logger: SidecarLogger;
  selfId: string;
  timeoutMs: number;
}): Fencer & { register(): void } {
  const { registryDir, clock, logger, selfId } = options;
  const fileOf = (id: string) => join(registryDir, `${id}.json`);

  async function fence(peerId: string): Promise<void> {
    if (peerId === selfId) throw new FenceError('refusing to fence this sidecar itself');
    let registration: Registration;
    try {
      registration = JSON.parse(readFileSync(fileOf(peerId), 'utf8')) as Registration;
    } catch (error) {
      throw new FenceError(`no registration for ${peerId}: cannot fence it`, { cause: error });
    }
    const giveUpAt = clock.monoMs() + options.timeoutMs;
    for (;;) {
      // The kernel reuses a pid only once no process group uses it: a leader with another start time means
      // the registered group is entirely gone (and the new group is not ours to touch).
      const leader = readProcess(registration.pgid);
      if (leader && leader.startTime !== registration.startTime) break;
      const survivors = listProcesses().filter((p) => p.pgid === registration.pgid && isLive(p));
      if (survivors.length === 0) break;
      if (clock.monoMs() > giveUpAt) throw new FenceError(`${peerId} still has live processes`);
      signal(-registration.pgid, 'SIGKILL');
      await clock.sleep(20);
    }
    logger.warn({ event: 'fenced', peerId, pgid: registration.pgid }, 'previous holder killed');
  }

  return {
    register() {
      const self = readProcess(process.pid);
      if (!self || self.pgid !== process.pid) {
        throw new FenceError(
          'local fencing needs the sidecar to lead its own process group (spawn it detached)',
        );
      }
      const registration: Registration = { pgid: self.pgid, startTime: self.startTime };
      const temporary = `${fileOf(selfId)}.tmp`;
      writeFileSync(temporary, JSON.stringify(registration));
      renameSync(temporary, fileOf(selfId));
    },

    fence,

    // Every sidecar that ever registered here stands for an instance of the stage (gone ones are no-ops).
    async fenceAllOthers() {
      const peers = readdirSync(registryDir)
        .filter((name) => name.endsWith('.json'))
        .map((name) => name.slice(0, -'.json'.length))
        .filter((id) => id !== selfId);
      logger.warn({ event: 'fencing-all', peers }, 'lease holder unknown: fencing every other sidecar');
      for (const peerId of peers) await fence(peerId);
    },
  };
}
