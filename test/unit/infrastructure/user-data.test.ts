// resources/user-data.cjs: what the instances get of a boot script.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

const { withoutComments } = createRequire(import.meta.url)('../../../resources/user-data.cjs') as {
  withoutComments: (script: string) => string;
};

describe('withoutComments', () => {
  it('drops comment and blank lines but keeps the interpreter line and trailing comments of commands', () => {
    // Prepare
    const script = '#!/bin/bash\n# why\nset -euo pipefail\n\n  # indented why\necho hi # stays\n';

    // Act / Assess
    assert.equal(withoutComments(script), '#!/bin/bash\nset -euo pipefail\necho hi # stays\n');
  });

  it('keeps every line of a here-document, which is the content of a file', () => {
    // Act
    const script = [
      '#!/bin/bash',
      "cat >/etc/unit <<'UNIT'",
      '# a comment the file must keep',
      '',
      'ExecStart=/bin/true',
      'UNIT',
      '# gone',
      'jq -r .a <<<"$JSON"',
      '# gone too: a here-string starts no here-document',
      '',
    ].join('\n');

    // Assess
    assert.equal(
      withoutComments(script),
      [
        '#!/bin/bash',
        "cat >/etc/unit <<'UNIT'",
        '# a comment the file must keep',
        '',
        'ExecStart=/bin/true',
        'UNIT',
        'jq -r .a <<<"$JSON"',
        '',
      ].join('\n'),
    );
  });
});
