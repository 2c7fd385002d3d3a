// Tests run straight from TypeScript through tsx; no build step.
export default {
  // test/slow/ (npm run test:slow) holds the multi-run validations that take minutes.
  files: process.env.AGENTPERF_SLOW_TESTS ? ['test/slow/**/*.test.ts'] : ['test/**/*.test.ts', '!test/slow/**'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '60s',
  workerThreads: false,
  environmentVariables: { AGENTPERF_LOG_LEVEL: 'silent' },
};
