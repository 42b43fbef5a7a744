import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { SLOW_PRIME, startWebHarness, type WebHarness } from '../../support/web-harness';

/** Nice value of a thread (field 19 of /proc/<pid>/task/<tid>/stat; the fields after the name start at 3). */
function niceOf(statPath: string): number {
  const text = readFileSync(statPath, 'utf8');
  return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[16]);
}

describe('/load under saturation', () => {
  let h: WebHarness;
  before(async () => {
    // One thread and room for one waiting task: the third concurrent request finds the queue full.
    h = await startWebHarness({ loadThreads: 1, loadQueueLimit: 1 });
  });
  after(async () => {
    await h.close();
  });

  it('lowers the priority of the /load threads only, never of the threads that serve HTTP', async () => {
    assert.equal((await fetch(`${h.baseUrl}/load?number=7`)).status, 200);

    const before = niceOf(`/proc/${process.ppid}/stat`); // the test runner, which loads none of the app
    const threads = readdirSync(`/proc/${process.pid}/task`).map((tid) =>
      niceOf(`/proc/${process.pid}/task/${tid}/stat`),
    );

    assert.equal(niceOf(`/proc/${process.pid}/task/${process.pid}/stat`), before);
    assert.ok(threads.filter((nice) => nice === 19).length >= 1, `nice values: ${threads}`);
    assert.ok(threads.filter((nice) => nice === before).length > 1, `nice values: ${threads}`);
  });

  it('answers 503 with Retry-After when the queue is full, instead of queueing without bound', async () => {
    // Act
    const responses = await Promise.all(
      Array.from({ length: 4 }, () => fetch(`${h.baseUrl}/load?number=${SLOW_PRIME}`)),
    );
    const statuses = responses.map((r) => r.status).sort();
    // Assess
    assert.deepEqual(statuses, [200, 200, 503, 503]);
    const refused = responses.find((r) => r.status === 503);
    assert.equal(refused?.headers.get('retry-after'), '1');
    assert.deepEqual(await refused?.json(), { error: 'prime check queue is full' });
  });

  it('keeps /health and /users answering while every load thread is busy', async () => {
    // Prepare
    const order: string[] = [];
    // Act
    const load = Promise.all(
      [1, 2].map(() =>
        fetch(`${h.baseUrl}/load?number=${SLOW_PRIME}`).then(async (r) => {
          order.push(`load:${r.status}`);
        }),
      ),
    );
    // Give the pool a moment to pick the work up, so the checks below really run during it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const health = await fetch(`${h.baseUrl}/health`);
    order.push(`health:${health.status}`);
    const users = await fetch(`${h.baseUrl}/users`);
    order.push(`users:${users.status}`);
    await load;

    // Assess
    // The health check and the read came back before the CPU-bound work finished.
    assert.deepEqual(order.slice(0, 2), ['health:200', 'users:200']);
    assert.deepEqual(order.slice(2), ['load:200', 'load:200']);
  });
});
