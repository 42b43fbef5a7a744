import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';

// No Docker engine here: the image's promises are checked on the Dockerfile's text; the bundle it runs is
// started and stopped for real in test/integration/scripts/bundle.test.ts.
const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const dockerfile = read('web/Dockerfile');

/** Instructions with their arguments, continuation lines joined, comments dropped. */
function instructions(text: string): Array<{ keyword: string; args: string }> {
  return text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** A script and the files of scripts/ it imports or reads beside itself, followed through those files. */
function filesOfScript(path: string): string[] {
  const found = new Set([path]);
  for (const file of found) {
    if (!file.endsWith('.ts')) continue;
    for (const [, relative] of read(file).matchAll(/(?:from |new URL\()'\.\/([\w.-]+)'/g)) {
      found.add(`scripts/${relative?.endsWith('.json') ? relative : `${relative}.ts`}`);
    }
  }
  return [...found];
}

/** The top-level folders of the code in `folders`, and of every folder that code imports from, transitively. */
function foldersImportedFrom(folders: string[]): Set<string> {
  const found = new Set(folders);
  for (const folder of found) {
    for (const file of readdirSync(new URL(`../../../${folder}`, import.meta.url), { recursive: true })) {
      if (!String(file).endsWith('.ts')) continue;
      const path = join(folder, String(file));
      for (const [, specifier = ''] of read(path).matchAll(/from '(\.[^']+)'/g)) {
        const top = join(dirname(path), specifier).split('/')[0];
        if (top) found.add(top);
      }
    }
  }
  return found;
}

const all = instructions(dockerfile);
const stages = all.reduce<Array<typeof all>>((acc, instruction) => {
  if (instruction.keyword === 'FROM') acc.push([]);
  acc.at(-1)?.push(instruction);
  return acc;
}, []);
const runtime = stages.at(-1) ?? [];
const argsOf = (keyword: string) => runtime.filter((i) => i.keyword === keyword).map((i) => i.args);

describe('web/Dockerfile', () => {
  it('builds in one stage and runs from another that copies only the web bundle', () => {
    assert.equal(stages.length, 2);
    assert.match(stages[0]?.[0]?.args ?? '', /^node:\d+-alpine AS build$/);
    assert.ok(
      stages[0]?.some((i) => i.keyword === 'RUN' && /npm ci\b/.test(i.args)),
      'installs from the lockfile',
    );
    assert.ok(stages[0]?.some((i) => i.keyword === 'RUN' && i.args === 'npm run build'));
    assert.deepEqual(argsOf('COPY'), ['--from=build /src/dist/web ./dist/web']);
  });

  it('runs as a user other than root', () => {
    // Act
    const user = argsOf('USER').at(-1);
    // Assess
    assert.ok(user && user !== 'root' && user !== '0', `USER ${user}`);
  });

  it('checks health on /health of the port the app listens on', () => {
    // Act
    const [healthcheck = ''] = argsOf('HEALTHCHECK');
    // Assess
    assert.match(healthcheck, /CMD .*127\.0\.0\.1:.*process\.env\.PORT.*\/health/);
    assert.deepEqual(argsOf('EXPOSE'), ['8080']);
    assert.ok(argsOf('ENV').some((env) => /\bPORT=8080\b/.test(env)));
  });

  it('starts node under tini, so SIGTERM reaches it even before the app handles signals', () => {
    assert.deepEqual(argsOf('ENTRYPOINT'), ['["/sbin/tini", "--"]']);
    assert.deepEqual(argsOf('CMD').at(-1), '["node", "dist/web/main.mjs"]');
    assert.ok(argsOf('RUN').some((run) => /apk add --no-cache tini/.test(run)));
  });

  it('drains within docker stop’s default 10 s', () => {
    // Act
    const grace = Number(/SHUTDOWN_GRACE_MS=(\d+)/.exec(argsOf('ENV').join(' '))?.[1]);
    // Assess
    assert.ok(grace > 0 && grace < 10_000, `SHUTDOWN_GRACE_MS=${grace}`);
  });

  it('copies everything the build needs: the folders of the bundle entries and of all they import', () => {
    // Prepare
    const build = read('scripts/build.ts');
    const entries = [...build.matchAll(/^\s*'[\w/-]+': '([^']+)'/gm)].map((match) => match[1] ?? '');

    // Act
    const copied = (stages[0] ?? []).filter((i) => i.keyword === 'COPY').flatMap((i) => i.args.split(' '));
    const needed = foldersImportedFrom(entries.map((entry) => entry.split('/')[0] ?? ''));

    // Assess
    assert.ok(entries.includes('web/main-instance.ts'));
    for (const folder of needed) assert.ok(copied.includes(folder), `${folder}/ is copied`);
    for (const file of filesOfScript('scripts/build.ts'))
      assert.ok(copied.includes(file), `${file} is copied`);
  });

  it('leaves local state out of the build context', () => {
    // Act
    const ignored = read('.dockerignore').split('\n');
    // Assess
    for (const path of ['node_modules', 'dist', '.git', '.data']) assert.ok(ignored.includes(path), path);
  });
});
