// `npm run test:unit`: the pure pieces alone, in seconds, with no database and no global set-up (the
// library's in test/unit, the sample's in sample/test).
const base = require('../../package.json').jest;

module.exports = {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/test/unit', '<rootDir>/sample/test'],
  globalSetup: undefined,
  setupFiles: [],
  testTimeout: 10000,
};
