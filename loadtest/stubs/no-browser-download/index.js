// Empty on purpose: see package.json. Nothing in artillery's HTTP engine loads this package.
module.exports = {};
