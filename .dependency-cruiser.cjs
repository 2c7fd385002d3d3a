/**
 * The import rules of DESIGN.md ("Shape" and "Seams"), checked in `npm test` (`npm run lint:deps`):
 * no import circle; the core never reaches instrumentation or OpenTelemetry (they meet on
 * node:diagnostics_channel); report/ is a leaf (result types in, text out: no runners, no
 * commands); only the CLI registry imports commands.
 */
const CORE = '^src/(orchestrator|cache|providers|workflow)/|^src/diagnostics\\.ts$';
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'An import circle: move the shared type to the module that produces it.', from: {}, to: { circular: true } },
    { name: 'core-not-instrumentation', severity: 'error', comment: 'The core publishes on diagnostics channels; instrumentation/ subscribes (DESIGN.md, seam 1).', from: { path: CORE }, to: { path: '^instrumentation/' } },
    { name: 'core-not-opentelemetry', severity: 'error', comment: 'The core has no OpenTelemetry import at all (DESIGN.md, seam 1).', from: { path: CORE }, to: { path: '@opentelemetry/' } },
    { name: 'report-is-a-leaf', severity: 'error', comment: 'report/ turns result types into text: it imports no runner and no command (DESIGN.md, layout).', from: { path: '^src/report/' }, to: { dependencyTypesNot: ['type-only'], path: '^src/(commands|bench|gate/(run|self-test|checkout|side)|load/(run|engine|workers)|measure/(block|slices|runner)|pipeline/pipeline|profiling/(profile-run|leak)|server)/?', pathNot: '^src/bench/targets\\.ts$' } },
    { name: 'only-cli-imports-commands', severity: 'error', comment: 'Commands are entered through the registry in src/cli.ts.', from: { path: '^(src|instrumentation)/', pathNot: '^src/(cli\\.ts$|commands/)' }, to: { path: '^src/commands/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
