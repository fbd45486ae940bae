/**
 * The layer table of the design (DESIGN.md, "Layout"), checked on every import by `npm run lint`:
 *   schemas → nothing · lib → schemas and lower lib, no cycles · jobs → schemas, sql, lib ·
 *   orchestration → jobs, lib (and schemas, below both) · cli → orchestration, jobs, lib, schemas ·
 *   agent → schemas, lib/storage, lib/log (the one logger, which imports nothing) · test, bench → everything.
 * A rule names the layer and the folders it must not import; test/layers/ checks the rules
 * themselves on a tree with a back edge.
 */
const LAYERS = ['schemas', 'lib', 'jobs', 'orchestration', 'cli', 'agent', 'test', 'bench', 'bin'];
const outside = (...allowed) => `^(${LAYERS.filter((layer) => !allowed.includes(layer)).join('|')})/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'schemas-import-nothing', severity: 'error', comment: 'schemas/ depends on nothing of ours', from: { path: '^schemas/' }, to: { path: outside('schemas') } },
    { name: 'lib-imports-schemas-and-lib', severity: 'error', comment: 'lib/ depends on schemas/ and lower lib/ modules only', from: { path: '^lib/' }, to: { path: outside('schemas', 'lib') } },
    { name: 'lib-has-no-cycles', severity: 'error', comment: 'a lib/ module may use a lower lib/ module, never one that uses it back', from: { path: '^lib/' }, to: { path: '^lib/', circular: true } },
    { name: 'jobs-import-schemas-sql-lib', severity: 'error', comment: 'jobs/ depends on schemas/, sql/ and lib/', from: { path: '^jobs/' }, to: { path: outside('schemas', 'lib', 'jobs') } },
    {
      name: 'orchestration-imports-jobs-lib',
      severity: 'error',
      comment: 'orchestration/ depends on jobs/ and lib/ (and schemas/ below them)',
      from: { path: '^orchestration/' },
      to: { path: outside('schemas', 'lib', 'jobs', 'orchestration') },
    },
    {
      name: 'cli-imports-below-it',
      severity: 'error',
      comment: 'cli/ is the application layer: orchestration/, jobs/, lib/, schemas/',
      from: { path: '^cli/' },
      to: { path: outside('schemas', 'lib', 'jobs', 'orchestration', 'cli') },
    },
    {
      name: 'agent-imports-schemas-and-storage',
      severity: 'error',
      comment: 'the agent runs without DuckDB: schemas/, lib/storage/ and lib/log/ only',
      from: { path: '^agent/' },
      to: { path: '^(lib/(?!storage/|log/)|jobs/|orchestration/|cli/|test/|bench/|bin/)' },
    },
    {
      name: 'staging-below-sources',
      severity: 'error',
      comment: 'lib/sources/ builds on lib/staging/ (typers, staged files); staging is to receive the source registry, not import it',
      from: { path: '^lib/staging/' },
      to: { path: '^lib/sources/' },
    },
    { name: 'no-cycles', severity: 'error', comment: 'no module imports itself back through others', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|data|test/fixtures|lake|reports)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js', '.cjs'] },
  },
};
