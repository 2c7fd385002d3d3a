// Tests run straight from TypeScript through tsx; no build step.
export default {
  files: ['test/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '60s',
  workerThreads: false,
  environmentVariables: { AGENTPERF_LOG_LEVEL: 'silent' },
};
