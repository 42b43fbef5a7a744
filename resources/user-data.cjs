// The boot scripts as the instances get them: userdata/<name>.sh without its comment lines and blank lines.
// EC2 takes at most 16 KB of user data before base64; the scripts are written for their readers, with a "why"
// at every step, and the database tier's is past that limit with its comments. Only whole-line comments outside
// here-documents go (the first line, the interpreter, stays; a here-document's lines are file contents and stay
// as written), so the script that runs is the script the tests run, less what bash would skip anyway.
'use strict';

const { readFileSync } = require('node:fs');
const { join } = require('node:path');

// `<<WORD`, `<<'WORD'`, `<<-WORD` start a here-document (not `<<<`, a here-string); WORD alone ends it.
const HEREDOC_START = /(?<!<)<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?/;

function withoutComments(script) {
  const lines = script.split('\n');
  const kept = [];
  let heredocEnd;
  for (const [index, line] of lines.entries()) {
    if (heredocEnd !== undefined) {
      kept.push(line);
      if (line.trim() === heredocEnd) heredocEnd = undefined;
      continue;
    }
    const trimmed = line.trim();
    if (index > 0 && (trimmed === '' || trimmed.startsWith('#'))) continue;
    kept.push(line);
    const start = HEREDOC_START.exec(line);
    if (start) heredocEnd = start[1];
  }
  return `${kept.join('\n')}\n`;
}

function bootScript(name) {
  return withoutComments(readFileSync(join(__dirname, '..', 'userdata', `${name}.sh`), 'utf8'));
}

module.exports = {
  withoutComments,
  database: () => bootScript('database'),
  webserver: () => bootScript('webserver'),
  natInstance: () => bootScript('nat-instance'),
};
