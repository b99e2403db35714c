/**
 * What the sidecar bundle loads at start. The proxy is built with esbuild (apps/proxy/project.json:
 * bundled, packages left external); an external package imported at the top of any module in the
 * bundle is `require`d when the bundle starts, one required inside a function only when that runs.
 * The sidecar speaks ADS and the Citadel CSR call over node:http2 itself, so grpc-js and
 * proto-loader (about 2.5–3 MB of RSS, docs/proxy.md) must not be among the former; it logs
 * through @tsmesh/core's own logger, so pino (with thread-stream, worker_threads, sonic-boom:
 * about 1 MB) is not loaded at all.
 */
import path from 'node:path';
import { build, type Metafile } from 'esbuild';

const root = path.join(__dirname, '../../..');

test('the sidecar bundle does not load @grpc/grpc-js, @grpc/proto-loader or pino at start', async () => {
  const result = await build({
    entryPoints: [path.join(root, 'apps/proxy/src/main.ts')],
    tsconfig: path.join(root, 'apps/proxy/tsconfig.json'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    packages: 'external',
    write: false,
    metafile: true,
    outfile: path.join(root, 'tmp/bundle-imports/main.js'),
    logLevel: 'silent',
  });
  // Per source module: an external imported by an import statement is loaded when the bundle
  // starts (esbuild evaluates the bundled modules up front); a require() call when it runs.
  const imports = Object.entries((result.metafile as Metafile).inputs).flatMap(([file, input]) =>
    input.imports.filter((i) => i.external).map((i) => ({ file, path: i.path, kind: i.kind })),
  );
  const atStart = imports.filter((i) => i.kind === 'import-statement');
  // the check sees what it should: packages the sidecar does load at start
  expect(atStart.map((i) => i.path)).toEqual(expect.arrayContaining(['protobufjs', 'node:http2']));
  expect(atStart.filter((i) => i.path.startsWith('@grpc/'))).toEqual([]);
  // proto-loader stays reachable on demand only (the Mixer service definition for a Report in
  // object form); grpc-js not at all
  expect(imports.filter((i) => i.path === '@grpc/grpc-js')).toEqual([]);
}, 60_000);
