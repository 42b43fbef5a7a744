import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../../web/http/errors';
import { parseLoadNumber } from '../../../web/prime/load-input';
import {
  parseNewUser,
  parseUserPage,
  USERS_PAGE_DEFAULT,
  USERS_PAGE_MAX,
} from '../../../web/users/user-input';

function fieldOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof ValidationError, `expected ValidationError, got ${String(error)}`);
    return error.field;
  }
  assert.fail('expected a ValidationError');
}

describe('parseNewUser', () => {
  it('accepts a username and an email', () => {
    assert.deepEqual(parseNewUser({ username: 'ann', email: 'ann@example.com' }), {
      username: 'ann',
      email: 'ann@example.com',
    });
  });

  it('accepts the longest allowed values', () => {
    // Act
    const email = `${'a'.repeat(108)}@example.com`;
    // Assess
    assert.equal(email.length, 120);
    assert.deepEqual(parseNewUser({ username: 'u'.repeat(80), email }), { username: 'u'.repeat(80), email });
  });

  it('names the field that is wrong', () => {
    // Prepare
    const cases: [unknown, string][] = [
      [{ email: 'a@example.com' }, 'username'],
      [{ username: '', email: 'a@example.com' }, 'username'],
      [{ username: '   ', email: 'a@example.com' }, 'username'],
      [{ username: 'u'.repeat(81), email: 'a@example.com' }, 'username'],
      [{ username: 42, email: 'a@example.com' }, 'username'],
      [{ username: ['ann'], email: 'a@example.com' }, 'username'],
      [{ username: 'ann' }, 'email'],
      [{ username: 'ann', email: 'not-an-email' }, 'email'],
      [{ username: 'ann', email: `${'a'.repeat(109)}@example.com` }, 'email'],
      [{ username: 'ann', email: null }, 'email'],
      [null, 'body'],
      ['ann', 'body'],
      [[{ username: 'ann', email: 'a@example.com' }], 'body'],
    ];
    // Act / Assess
    for (const [body, field] of cases)
      assert.equal(
        fieldOf(() => parseNewUser(body)),
        field,
        JSON.stringify(body),
      );
  });

  it('refuses fields it does not know instead of silently dropping them', () => {
    assert.throws(
      () => parseNewUser({ username: 'ann', email: 'a@example.com', admin: true }),
      /unknown field admin/,
    );
  });
});

describe('parseUserPage', () => {
  it('defaults to the first page of the default size', () => {
    assert.deepEqual(parseUserPage({}), { limit: USERS_PAGE_DEFAULT, after: 0 });
  });

  it('reads limit and after', () => {
    assert.deepEqual(parseUserPage({ limit: '5', after: '42' }), { limit: 5, after: 42 });
    assert.deepEqual(parseUserPage({ after: '2147483647' }), {
      limit: USERS_PAGE_DEFAULT,
      after: 2147483647,
    });
  });

  it('rejects limits outside 1..max and ids that are not whole numbers', () => {
    for (const query of [
      { limit: '0' },
      { limit: String(USERS_PAGE_MAX + 1) },
      { limit: 'ten' },
      { limit: '-1' },
    ]) {
      assert.equal(
        fieldOf(() => parseUserPage(query)),
        'limit',
      );
    }
    for (const query of [{ after: 'x' }, { after: '1.5' }, { after: ['1', '2'] }, { after: '2147483648' }]) {
      assert.equal(
        fieldOf(() => parseUserPage(query)),
        'after',
      );
    }
  });
});

describe('parseLoadNumber', () => {
  it('accepts 1 through 2^53 - 1', () => {
    assert.equal(parseLoadNumber('1'), 1);
    assert.equal(parseLoadNumber('112272535095293'), 112272535095293);
    assert.equal(parseLoadNumber('9007199254740991'), Number.MAX_SAFE_INTEGER);
  });

  it('rejects everything else with the field named', () => {
    for (const raw of [
      undefined,
      '',
      '0',
      '-5',
      '1.5',
      '1e9',
      'abc',
      ' 7',
      '9007199254740992',
      '99999999999999999',
      ['7'],
    ]) {
      assert.equal(
        fieldOf(() => parseLoadNumber(raw)),
        'number',
        String(raw),
      );
    }
  });
});
