import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Each emulated database instance's own page cache over the shared data directory, as each EC2 instance has its
 * own kernel in front of EFS: a LazyFS mount per instance (../shared/lazyfs, the tool of Jepsen-style durability
 * studies) over the one shared folder. What an instance wrote and did not flush lives only in its mount: lost at
 * its power-off (`clear-cache`), or written to the shared folder late, by its "kernel's" periodic writeback
 * (`cache-checkpoint`), possibly after another instance has started on the data. LazyFS rather than a layer of our
 * own: it is an established tool built for exactly these two behaviours, and the fault suite needs nothing it
 * lacks once its two measured gaps are handled here:
 *
 * - **syncfs(2) does not reach a FUSE file system.** The sidecar flushes with `sync --file-system` before a
 *   release; inside an emulated instance `sync` is a wrapper (`instanceBin`) that asks this module to write the
 *   instance's cache out, then runs the real sync.
 * - **A mount does not revalidate what it cached** when another mount wrote (NFS does, on open: close-to-open).
 *   Each instance gets a fresh mount at its emulated boot, and its `postgres` (a wrapper too) first writes its
 *   cache out and drops it, so a server always starts on what the storage holds, as a new server does on EFS.
 */

const REPO = resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The LazyFS binary: $LAZYFS, else built (idempotent) from ../shared/lazyfs beside the repository. */
export function lazyfsBinary(): string {
  const fromEnv = process.env.LAZYFS;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`LAZYFS=${fromEnv}: no such file`);
    return fromEnv;
  }
  const kit = join(REPO, '../shared/lazyfs/lazyfs');
  if (!existsSync(kit))
    throw new Error(
      'the fault suite needs LazyFS (a page cache per emulated instance): run `../shared/lazyfs/lazyfs build` ' +
        'and set LAZYFS to the path it prints (needs g++, cmake, libfuse3-dev, fuse3, libspdlog-dev, libtoml11-dev)',
    );
  return execFileSync(kit, ['bin'], { encoding: 'utf8' }).trim();
}

export interface InstancePageCache {
  /** Where the instance sees the shared folder (bound over it inside the instance's mount namespace). */
  readonly mountPoint: string;
  /** The kernel's periodic writeback: everything dirty reaches the storage. Skipped while frozen. */
  writeBack(): Promise<void>;
  /** syncfs as the program asked for it, then the clean pages dropped (the next reads go to the storage). */
  flushAndRevalidate(): Promise<void>;
  /** A frozen host writes nothing back. */
  frozen: boolean;
  /** Power lost: whatever was not flushed is gone, and so is the mount. Idempotent. */
  powerOff(): Promise<void>;
  /** For the process's exit hook: unmount at once, synchronously. */
  unmountNow(): void;
}

const CHECKPOINTED = 'checkpoint is done.';
const CLEARED = 'cache is cleared.';

export async function startInstancePageCache(options: {
  lazyfs: string;
  /** How to start a program of the instance (its priority). */
  run?: (command: string, args: string[]) => [string, string[]];
  /** The shared folder (the EFS file system). */
  backing: string;
  /** A folder of this instance's own, for the mount point, the command FIFO and the log. */
  dir: string;
  /**
   * As root: the user PostgreSQL runs as. LazyFS creates every file as itself (root), so the mount reports this
   * owner for all of them (libfuse's uid=/gid=) and lets other users in (allow_other), as the data directory's
   * ownership checks need. Otherwise the mount's owner runs everything and neither is needed.
   */
  owner?: { uid: number; gid: number };
  writebackIntervalMs: number;
}): Promise<InstancePageCache> {
  const { dir } = options;
  mkdirSync(dir, { recursive: true });
  const mountPoint = join(dir, 'mnt');
  mkdirSync(mountPoint);
  const fifo = join(dir, 'commands.fifo');
  execFileSync('mkfifo', [fifo]);
  const config = join(dir, 'lazyfs.toml');
  writeFileSync(
    config,
    // 64 MB, evicting the least recently used page when full (a dirty one is written first), as a kernel under
    // memory pressure does; LazyFS allocates it all at the mount (about a second).
    `[faults]\nfifo_path="${fifo}"\n[cache]\napply_eviction=true\n[cache.simple]\ncustom_size="64mb"\n` +
      `blocks_per_page=1\n[filesystem]\nlog_all_operations=false\nlogfile=""\n`,
  );
  const run = options.run ?? ((command: string, args: string[]) => [command, args]);
  const child: ChildProcess = spawn(
    ...run(options.lazyfs, [
      mountPoint,
      '--config-path',
      config,
      '-o',
      [
        ...(options.owner ? ['allow_other', `uid=${options.owner.uid}`, `gid=${options.owner.gid}`] : []),
        'modules=subdir',
        `subdir=${options.backing}`,
      ].join(','),
      '-f',
    ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const waiting: { line: string; done: () => void }[] = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  lines.on('line', (line) => {
    const index = waiting.findIndex((w) => line.includes(w.line));
    if (index >= 0) waiting.splice(index, 1)[0]?.done();
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2000);
  });
  lines.on('line', (line) => {
    output = `${output}${line}\n`.slice(-2000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
    for (const w of waiting.splice(0)) w.done();
  });
  const giveUpAt = performance.now() + 60_000;
  while (!readFileSync('/proc/mounts', 'utf8').includes(` ${mountPoint} fuse.lazyfs `)) {
    if (exited || performance.now() > giveUpAt)
      throw new Error(`LazyFS did not mount ${mountPoint} (${options.lazyfs}): ${output.trim()}`);
    await sleep(20);
  }

  // One command at a time: LazyFS reads its FIFO in chunks, and two commands in one read are not understood.
  let queue: Promise<void> = Promise.resolve();
  let off = false;
  const command = (name: string, doneLine: string): Promise<void> => {
    const run = queue.then(async () => {
      if (off || exited) return;
      const done = new Promise<void>((resolveDone) => waiting.push({ line: doneLine, done: resolveDone }));
      writeFileSync(fifo, `lazyfs::${name}\n`);
      await done;
    });
    queue = run.catch(() => {});
    return run;
  };
  const unmountNow = () => {
    if (off) return;
    off = true;
    clearInterval(timer);
    try {
      execFileSync('fusermount3', ['-u', '-z', mountPoint], { stdio: 'ignore' });
    } catch {
      // already unmounted
    }
    child.kill('SIGKILL');
  };
  const cache: InstancePageCache = {
    mountPoint,
    frozen: false,
    writeBack: () => command('cache-checkpoint', CHECKPOINTED),
    async flushAndRevalidate() {
      await command('cache-checkpoint', CHECKPOINTED);
      await command('clear-cache', CLEARED);
    },
    async powerOff() {
      if (off) return;
      await command('clear-cache', CLEARED);
      unmountNow();
    },
    unmountNow,
  };
  // The kernel writes dirty pages back on its own (ec2-timing.ts, `writebackIntervalMs`).
  const timer = setInterval(() => {
    if (!cache.frozen) void cache.writeBack();
  }, options.writebackIntervalMs);
  return cache;
}

/**
 * The host side of the wrappers inside the instances: `POST /flush/<slot>` writes that slot's instance's page
 * cache out (syncfs), `POST /revalidate/<slot>` also drops its clean pages; each answers 204 once done (500 if
 * the slot has no mounted cache).
 */
export async function startPageCacheControl(cacheOf: (slot: number) => InstancePageCache | undefined) {
  const server: Server = createServer((req, res) => {
    const [, what, slot] = /^\/(flush|revalidate)\/(\d+)$/.exec(req.url ?? '') ?? [];
    const cache = slot === undefined ? undefined : cacheOf(Number(slot));
    if (req.method !== 'POST' || !cache) {
      res.writeHead(500).end();
      return;
    }
    (what === 'flush' ? cache.writeBack() : cache.flushAndRevalidate()).then(
      () => res.writeHead(204).end(),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    port: () => (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((done) => server.close(() => done()));
    },
  };
}

/**
 * The commit latency of EFS on every fsync: an LD_PRELOAD library that waits `CHAOS_FSYNC_DELAY_US` before each
 * fsync/fdatasync of the program it is loaded into (PostgreSQL, through its wrapper). Compiled with the system's
 * C compiler (the one LazyFS is built with) into `dir`.
 */
export function buildFsyncDelay(dir: string): string {
  const source = join(dir, 'fsync-delay.c');
  const library = join(dir, 'fsync-delay.so');
  writeFileSync(
    source,
    `#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
static long delay_ns = -1;
static void commit_latency(void) {
  if (delay_ns < 0) { const char *us = getenv("CHAOS_FSYNC_DELAY_US"); delay_ns = us ? atol(us) * 1000L : 0; }
  if (delay_ns > 0) { struct timespec t = { delay_ns / 1000000000L, delay_ns % 1000000000L }; nanosleep(&t, 0); }
}
int fsync(int fd) { static int (*real)(int); if (!real) real = dlsym(RTLD_NEXT, "fsync"); commit_latency(); return real(fd); }
int fdatasync(int fd) { static int (*real)(int); if (!real) real = dlsym(RTLD_NEXT, "fdatasync"); commit_latency(); return real(fd); }
`,
  );
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', library, source, '-ldl'], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(
      `the fault suite needs a C compiler (cc, e.g. Debian's gcc) for its EFS commit latency: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  return library;
}

/**
 * The programs of one emulated instance that must reach its page cache: `<dir>/path/sync` (put first on the
 * sidecar's PATH) turns `sync --file-system` into a flush of the instance's cache; `<dir>/postgres-bin` is
 * POSTGRES_BIN_DIR, every program of the real one, with `postgres` first revalidating the cache, then starting
 * the real server with the EFS commit latency library and `extraSettings`.
 */
export function writeInstanceWrappers(options: {
  dir: string;
  slot: number;
  postgresBinDir: string;
  controlPort: number;
  fsyncDelayLibrary: string;
  fsyncDelayUs: number;
  /** `-c name=value` settings placed before the sidecar's own (which therefore win). */
  extraSettings: string[];
}): { path: string; postgresBinDir: string } {
  const { dir } = options;
  const path = join(dir, 'path');
  const bin = join(dir, 'postgres-bin');
  mkdirSync(path, { recursive: true });
  mkdirSync(bin, { recursive: true });
  // A request to the host, in bash alone (a Node client costs a start-up inside the release's deadline).
  const ask = join(dir, 'ask-host');
  writeFileSync(
    ask,
    `#!/bin/bash
# usage: ask-host flush|revalidate — answers once the host has done it
exec 3<>/dev/tcp/127.0.0.1/${options.controlPort} || exit 1
printf 'POST /%s/${options.slot} HTTP/1.0\r\nContent-Length: 0\r\n\r\n' "$1" >&3
read -r _ status _ <&3
[ "$status" = 204 ]
`,
    { mode: 0o755 },
  );
  const realSync = execFileSync('sh', ['-c', 'command -v sync'], { encoding: 'utf8' }).trim();
  writeFileSync(
    join(path, 'sync'),
    `#!/bin/sh
# syncfs(2) does not reach LazyFS (FUSE does not forward it): a flush of the shared directory's file system is
# this instance's page cache written out by its host (test/chaos/page-cache.ts), then the real sync.
case " $* " in *" --file-system "*|*" -f "*) "${ask}" flush || exit 1 ;; esac
exec "${realSync}" "$@"
`,
    { mode: 0o755 },
  );
  for (const program of readdirSync(options.postgresBinDir)) {
    if (program !== 'postgres') symlinkSync(join(options.postgresBinDir, program), join(bin, program));
  }
  const settings = options.extraSettings.map((s) => `-c ${s}`).join(' ');
  writeFileSync(
    join(bin, 'postgres'),
    `#!/bin/sh
# A new server reads what the storage holds (NFS revalidates on open; a LazyFS mount does not), with EFS's commit
# latency on every fsync (test/chaos/page-cache.ts).
"${ask}" revalidate || { echo "the instance's page cache did not answer" >&2; exit 1; }
export LD_PRELOAD="${options.fsyncDelayLibrary}" CHAOS_FSYNC_DELAY_US=${options.fsyncDelayUs}
# --single must come first (the bootstrap's single-user mode).
[ "$1" = --single ] && exec "${join(options.postgresBinDir, 'postgres')}" "$@"
exec "${join(options.postgresBinDir, 'postgres')}" ${settings} "$@"
`,
    { mode: 0o755 },
  );
  return { path, postgresBinDir: bin };
}
