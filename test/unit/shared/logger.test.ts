import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../shared/logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, stream: { write: (line: string) => lines.push(JSON.parse(line)) } };
}

describe('createLogger', () => {
  it('writes one JSON object per line, naming the service and component', () => {
    // Act
    const { lines, stream } = capture();
    createLogger('web', 'info', stream).info({ requestId: 'r-1' }, 'request');
    // Assess
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.service, 'cloudy');
    assert.equal(lines[0]?.component, 'web');
    assert.equal(lines[0]?.requestId, 'r-1');
    assert.equal(lines[0]?.msg, 'request');
  });

  it('never writes passwords, secrets or connection strings', () => {
    // Act
    const { lines, stream } = capture();
    createLogger('web', 'info', stream).info(
      {
        password: 'p1',
        connection: { password: 'p2', connectionString: 'postgres://u:p3@h/db' },
        config: { DATABASE_URL: 'postgres://u:p4@h/db', secret: 'p5' },
        req: { headers: { authorization: 'Bearer p6' } },
      },
      'settings',
    );
    const text = JSON.stringify(lines);
    // Assess
    for (const secret of ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'])
      assert.doesNotMatch(text, new RegExp(`\\b${secret}\\b`));
    assert.match(text, /\[redacted\]/);
  });
});
