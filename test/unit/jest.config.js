// `npm run test:unit`: the pure pieces alone, in seconds, with no database and no global set-up.
const base = require('../../package.json').jest;

module.exports = {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/test/unit'],
  globalSetup: undefined,
  setupFiles: [],
  testTimeout: 10000,
};
