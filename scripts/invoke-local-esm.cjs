'use strict';
// `sls invoke local` (osls) loads a Node.js handler with require('<dir>/<handler file without extension>'), which
// finds `.js` and `.cjs` files but not the `.mjs` files serverless-esbuild emits here (outputFileExtension: .mjs,
// what the Lambda runtime needs to load the bundle as an ES module). During `invoke local` only, this plugin lets
// such a require() fall back to `<path>.mjs`; Node.js (>= 20.19) then loads the ES module through require().
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');

class InvokeLocalEsm {
  constructor() {
    this.hooks = {
      'before:invoke:local:invoke': () => {
        const resolve = Module._resolveFilename;
        Module._resolveFilename = function resolveMjs(request, ...rest) {
          try {
            return resolve.call(this, request, ...rest);
          } catch (error) {
            const mjs = `${request}.mjs`;
            if (error.code !== 'MODULE_NOT_FOUND' || !path.isAbsolute(request) || !fs.existsSync(mjs)) {
              throw error;
            }
            return resolve.call(this, mjs, ...rest);
          }
        };
      },
    };
  }
}

module.exports = InvokeLocalEsm;
