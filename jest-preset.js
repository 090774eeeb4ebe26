// Jest preset of nestjs-dbos: `preset: 'nestjs-dbos'` in a Jest config. For CommonJS apps tested
// with Jest on Nest 12, whose packages are ES modules only: Jest's loader cannot require() them on
// Node 20, so they are compiled to CommonJS for the tests (see jest/esm-packages.transformer.js).
// TypeScript test files go through ts-jest, as in a Jest-based Nest project.
'use strict';
const path = require('node:path');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': 'ts-jest',
    '/node_modules/@nestjs/.+\\.js$': path.join(__dirname, 'jest', 'esm-packages.transformer.js'),
  },
  transformIgnorePatterns: ['/node_modules/(?!@nestjs/)'],
  // Relative imports written with .js for ES modules (`./app.module.js`) find the .ts file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};
