/** @type {import('jest').Config} */
module.exports = {
  rootDir: '.',
  roots: ['<rootDir>/test'],
  testEnvironment: 'node',
  testRegex: '\\.spec\\.ts$',
  transform: {
    '^.+\\.ts$': 'ts-jest',
    // Nest 12's packages are ES modules only: compiled to CommonJS for Jest's loader (see the file,
    // which the package ships for its Jest preset, jest-preset.js).
    '/node_modules/@nestjs/.+\\.js$': '<rootDir>/jest/esm-packages.transformer.js',
  },
  transformIgnorePatterns: ['/node_modules/(?!@nestjs/)'],
  // The sample app imports the package by name, as a user would (tsconfig.json "paths").
  moduleNameMapper: { '^nestjs-dbos$': '<rootDir>/lib', '^nestjs-dbos/testing$': '<rootDir>/lib/testing' },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
};
