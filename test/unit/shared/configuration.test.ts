import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { booleanFlag, ConfigurationError, parseEnv, virtualIp } from '../../../shared/configuration';

describe('parseEnv', () => {
  const schema = z.object({ NAME: z.string().min(1), COUNT: z.coerce.number().int().default(3) });

  it('returns the settings with their defaults', () => {
    // Act
    const settings = parseEnv(schema, 'test program', { NAME: 'a' });

    // Assess
    assert.deepEqual(settings, { NAME: 'a', COUNT: 3 });
  });

  it('names the component and every bad key at once, an unset one as required', () => {
    assert.throws(
      () => parseEnv(schema, 'test program', { COUNT: 'many' }),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        error.message.startsWith('invalid test program configuration: ') &&
        error.message.includes('NAME: required') &&
        error.message.includes('COUNT: '),
    );
  });
});

describe('virtualIp', () => {
  it('defaults to 10.10.10.10 when unset or empty, and takes only an IPv4 address', () => {
    // Act
    const read = (value: string | undefined) => virtualIp.safeParse(value);

    // Assess
    assert.equal(read(undefined).data, '10.10.10.10');
    assert.equal(read(' ').data, '10.10.10.10');
    assert.equal(read(' 10.20.0.5 ').data, '10.20.0.5');
    assert.equal(read('10.10.10.10/32').success, false);
    assert.equal(read('db.internal').success, false);
  });
});

describe('booleanFlag', () => {
  it('reads true/1 and false/0/empty in any case, a JSON boolean as itself, and nothing else', () => {
    // Prepare
    const rows: [unknown, boolean | 'invalid'][] = [
      ['true', true],
      [' TRUE ', true],
      ['1', true],
      [true, true],
      ['false', false],
      ['0', false],
      ['', false],
      [false, false],
      ['yes', 'invalid'],
      [1, 'invalid'],
    ];

    // Act
    const read = rows.map(([value]) => {
      const result = booleanFlag.safeParse(value);
      return result.success ? result.data : 'invalid';
    });

    // Assess
    assert.deepEqual(
      read,
      rows.map(([, expected]) => expected),
    );
  });
});
