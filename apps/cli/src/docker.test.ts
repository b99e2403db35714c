// The container images behind docker-compose.yml and the k8s manifests: one Dockerfile builds each
// `tsmesh/<project>` image with APP=<project>, and its entrypoint starts the bundle the way
// `tsmesh up` does (node flags and environment from the launch.json beside main.js).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadKustomization } from './manifests';
import { buildTopology } from './topology';

const ROOT = join(__dirname, '../../..');
const ENTRYPOINT = join(ROOT, 'tools/docker/entrypoint.sh');
const LAUNCH_ENV = join(ROOT, 'tools/docker/launch-env.cjs');

/** Nx projects with an esbuild `build` target writing dist/apps/<name>/main.js. */
function buildableProjects(): Set<string> {
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== 'node_modules') walk(join(dir, e.name));
      else if (e.name === 'project.json') {
        const p = JSON.parse(readFileSync(join(dir, e.name), 'utf8'));
        const out = p.targets?.build?.options?.outputPath;
        if (out === `dist/apps/${p.name}` && p.targets?.build?.options?.outputFileName === 'main.js') found.add(p.name);
      }
    }
  };
  walk(join(ROOT, 'apps'));
  return found;
}

test('every tsmesh image in docker-compose.yml is built from the Dockerfile with APP = a buildable project', () => {
  const projects = buildableProjects();
  const services = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')).services as Record<
    string,
    { image: string; build?: { context: string; args: { APP: string } } }
  >;
  const ours = Object.entries(services).filter(([, s]) => s.image.startsWith('tsmesh/'));
  expect(ours.length).toBeGreaterThan(10);
  for (const [name, s] of ours) {
    const project = /^tsmesh\/([^:]+):/.exec(s.image)?.[1];
    expect({ name, build: s.build }).toEqual({ name, build: { context: '.', args: { APP: project } } });
    expect(projects).toContain(project);
  }
  // foreign images (postgres) are pulled, not built
  for (const [, s] of Object.entries(services).filter(([, x]) => !x.image.startsWith('tsmesh/')))
    expect(s.build).toBeUndefined();
});

test('every tsmesh image the k8s manifests use has a buildable project', () => {
  const projects = buildableProjects();
  const topology = buildTopology(loadKustomization(join(ROOT, 'k8s/overlays/demo')));
  const images = new Set(topology.pods.map((p) => p.container.image).filter((i) => i.startsWith('tsmesh/')));
  expect(images.size).toBeGreaterThan(5);
  for (const image of images) expect(projects).toContain(/^tsmesh\/([^:]+)/.exec(image)?.[1]);
});

test("the Dockerfile's COPY sources exist and its entrypoint is the one tested here", () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
  expect(sources).toContain('tools/docker/entrypoint.sh');
  for (const s of sources.filter((x) => x !== '.')) expect(existsSync(join(ROOT, s))).toBe(true);
  expect(dockerfile).toMatch(/^ENTRYPOINT \["\/bin\/sh", "\/usr\/local\/bin\/tsmesh-entrypoint"\]$/m);
  expect(dockerfile).toMatch(/COPY --from=build \/src\/dist\/apps\/\$\{APP\}\/ \.\//);
});

describe('entrypoint', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsmesh-entry-'));
    writeFileSync(
      join(dir, 'main.js'),
      'process.stdout.write(JSON.stringify({ execArgv: process.execArgv, argv: process.argv.slice(2), ' +
        'FOO: process.env.FOO, KEEP: process.env.KEEP, Q: process.env.Q }))',
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (env: Record<string, string> = {}, args: string[] = []) =>
    JSON.parse(
      execFileSync('sh', [ENTRYPOINT, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env['PATH'] ?? '', TSMESH_APP_DIR: dir, TSMESH_LAUNCH_ENV: LAUNCH_ENV, ...env },
      }),
    );

  test("applies launch.json's node flags and env (the container's own env wins) and passes the arguments", () => {
    writeFileSync(
      join(dir, 'launch.json'),
      JSON.stringify({ nodeArgs: ['--no-memory-reducer'], env: { FOO: 'bar', KEEP: 'default', Q: "it's $HOME" } }),
    );
    const got = run({ KEEP: 'set by the container' }, ['--mode', 'a b']);
    expect(got).toEqual({
      execArgv: ['--no-memory-reducer'],
      argv: ['--mode', 'a b'],
      FOO: 'bar',
      KEEP: 'set by the container',
      Q: "it's $HOME",
    });
  });

  test('without launch.json the app starts plain', () => {
    expect(run({}, ['x'])).toEqual({ execArgv: [], argv: ['x'] });
  });

  test('refuses a node flag that is not one word', () => {
    writeFileSync(join(dir, 'launch.json'), JSON.stringify({ nodeArgs: ['--max-old-space-size=64; rm -rf /'] }));
    expect(() => run()).toThrow(/is not a single --flag word/);
  });

  test.each(['mixer', 'proxy'])('apps/%s/launch.json is accepted as shipped', (app) => {
    const launch = JSON.parse(readFileSync(join(ROOT, `apps/${app}/launch.json`), 'utf8'));
    writeFileSync(join(dir, 'launch.json'), JSON.stringify(launch));
    const out = execFileSync('node', [LAUNCH_ENV, join(dir, 'launch.json')], { encoding: 'utf8', env: {} });
    for (const a of launch.nodeArgs ?? []) expect(out).toContain(a);
    for (const k of Object.keys(launch.env ?? {})) expect(out).toContain(`export ${k}=`);
  });
});
