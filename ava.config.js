// Tests run straight from TypeScript through tsx; the CLI they start is the built one (npm test builds it first).
// Three sets: the unit and integration tests (npm test runs them first, files in parallel), the
// end-to-end test of agentperf installed into a user's project (AGENTPERF_E2E=1, run after them
// and alone, so that its gates measure on a machine no other test is loading), and the slow
// statistical validations (AGENTPERF_SLOW_TESTS=1, npm run test:slow).
const sets = {
  slow: ['test/slow/**/*.test.ts'],
  e2e: ['test/e2e/**/*.test.ts'],
  default: ['test/**/*.test.ts', '!test/slow/**', '!test/e2e/**'],
};

export default {
  files: process.env.AGENTPERF_SLOW_TESTS ? sets.slow : process.env.AGENTPERF_E2E ? sets.e2e : sets.default,
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '60s',
  workerThreads: false,
  environmentVariables: { AGENTPERF_LOG_LEVEL: 'silent' },
};
