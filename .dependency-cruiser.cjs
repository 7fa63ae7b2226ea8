/**
 * The layering rules of ARCHITECTURE.md, checked by `npm test` (npm run lint:deps). Arrows point
 * down: cli → server → protocols → engines (inference/, pipelines/) → backends; telemetry, config,
 * http, security, errors are shared below the server.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle makes two modules one: load order and ownership stop being clear.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'nothing-below-imports-server',
      severity: 'error',
      comment: 'server/ wires everything together; only the CLI and the package entry point sit above it.',
      from: { path: '^src/', pathNot: '^src/(server/|cli/|index\\.ts$)' },
      to: { path: '^src/server/' },
    },
    {
      name: 'nothing-below-imports-cli',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'engines-never-import-protocols',
      severity: 'error',
      comment: 'inference/ and pipelines/ (and their backends) know nothing of HTTP protocols.',
      from: { path: '^src/(inference|pipelines)/' },
      to: { path: '^src/protocols/' },
    },
    {
      name: 'protocols-never-touch-a-runtime',
      severity: 'error',
      comment: 'Protocols are thin adapters over the engines; only backends load onnxruntime or llama.cpp.',
      from: { path: '^src/protocols/' },
      to: { path: 'node_modules/(onnxruntime-node|node-llama-cpp)/' },
    },
    {
      name: 'runtimes-only-in-backends',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(inference/backends/|doctor/)' },
      to: { path: 'node_modules/(onnxruntime-node|node-llama-cpp)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'shipped-code-never-imports-tests-or-benchmarks',
      severity: 'error',
      comment: 'support/ (the model writers) needs development dependencies (protobufjs).',
      from: { path: '^src/' },
      to: { path: '^(test|bench|support)/' },
    },
    {
      name: 'benchmarks-never-import-tests',
      severity: 'error',
      comment: 'What benchmarks and tests share lives in support/.',
      from: { path: '^(bench|support)/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^(dist|coverage)/' },
  },
};
