/**
 * The `tsmesh` command: up, down, status, apply, delete, validate, compose.
 */
import { isMeshError, parseConfig, renderHelp } from '@tsmesh/core';
import { formatConfigError } from '@tsmesh/mesh-config';
import { isAbsolute, join } from 'node:path';
import { applyFile, checkFile, deleteFile } from './commands/config-files';
import { down, status } from './commands/down-status';
import { adminUrl, pilotUrl } from './commands/debug-sources';
import { proxyConfig } from './commands/proxy-config';
import { proxyStatus } from './commands/proxy-status';
import { up } from './commands/up';
import { COMPOSE_SUBNET, composeGatewayBootstrap, renderCompose } from './compose';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { KUBE_INJECT_DEFAULTS, kubeInject } from './kube-inject';
import { registryObjects, writeRegistry } from './registry';
import { cliErrors } from './errors';
import { loadKustomization } from './manifests';
import { statePaths } from './paths';
import { findRoot } from './root';
import { upConfig } from './settings';
import { buildTopology } from './topology';

const PROXY_STATUS_USAGE = `  proxy-status [PROXY] [--pilot URL] [--admin URL] [--json]
                          xDS sync state of every proxy (SYNCED/STALE/NOT SENT/NACKED); with PROXY, Pilot's view vs the proxy's`;
const PROXY_CONFIG_USAGE = `  proxy-config clusters|listeners|routes|endpoints PROXY [--admin URL] [-o json]
                          clusters: [--fqdn S] [--port N] [--subset S] [--direction D]; endpoints: [--cluster NAME] [--status S]
                          the config a proxy has applied, from its admin /config_dump (and /clusters)`;

const KUBE_INJECT_USAGE = `  kube-inject -f FILE|-   [--proxy-image IMAGE] [--discovery-address HOST:PORT]
                          print FILE's Kubernetes YAML with the istio-proxy sidecar added to every workload (istioctl kube-inject)`;

const HELP = `Usage: tsmesh <command> [flags]

Commands:
  up [-d]                 start the control plane and the demos as local processes (npm start)
  down                    stop everything started by up
  status [--json]         processes, addresses, readiness
  apply -f FILE           validate FILE and write it into the running mesh's config folder
  delete -f FILE          remove the objects of FILE from the config folder
  validate -f FILE...     validate Istio/Kubernetes YAML with @tsmesh/mesh-config
  compose [--registry DIR] print docker-compose.yml generated from the k8s manifests (or write Pilot's registry for it)
${KUBE_INJECT_USAGE}
${PROXY_STATUS_USAGE}
${PROXY_CONFIG_USAGE}

Common flags: --state-dir DIR (default .tsmesh). \`tsmesh up --help\` lists up's flags.`;

const out = (line: string) => process.stdout.write(`${line}\n`);
// `tsmesh status | head` closes the pipe early; that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => process.exit(e.code === 'EPIPE' ? 0 : 1));

function takeFlag(args: string[], names: string[], withValue: boolean): string[] {
  const values: string[] = [];
  for (let i = 0; i < args.length;) {
    const a = args[i];
    const eq = names.find((n) => a.startsWith(`${n}=`));
    if (eq) {
      values.push(a.slice(eq.length + 1));
      args.splice(i, 1);
    } else if (names.includes(a)) {
      if (withValue) {
        if (i + 1 >= args.length) throw cliErrors.error('CLI_ERR_USAGE', { what: `${a} needs a value` });
        values.push(args[i + 1]);
        args.splice(i, 2);
      } else {
        values.push('true');
        args.splice(i, 1);
      }
    } else i++;
  }
  return values;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const root = findRoot();
  const args = [...rest];
  const stateDirArg = cmd === 'up' ? [] : takeFlag(args, ['--state-dir'], true);
  const stateDir = stateDirArg[0] ?? process.env['TSMESH_STATE_DIR'] ?? '.tsmesh';
  const paths = statePaths(isAbsolute(stateDir) ? stateDir : join(root, stateDir));
  switch (cmd) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out(HELP);
      return 0;
    case 'up': {
      const parsed = parseConfig(
        upConfig,
        args.map((a) => (a === '-d' ? '--detach' : a)),
      );
      if (parsed.help) {
        out(renderHelp(upConfig));
        return 0;
      }
      return up(root, parsed.settings, out);
    }
    case 'down':
      return down(paths.root, out);
    case 'status':
      return status(paths.root, takeFlag(args, ['--json'], false).length > 0, out);
    case 'validate':
    case 'apply':
    case 'delete': {
      const files = takeFlag(args, ['-f', '--filename'], true);
      if (files.length === 0 || args.length > 0)
        throw cliErrors.error('CLI_ERR_USAGE', {
          what: `usage: tsmesh ${cmd} -f FILE${cmd === 'validate' ? ' [-f FILE…]' : ''}`,
        });
      let code = 0;
      for (const f of files) {
        if (cmd === 'validate') {
          const r = checkFile(f);
          for (const e of [...r.errors, ...r.warnings]) out(formatConfigError(e));
          out(`${f}: ${r.errors.length ? `${r.errors.length} error(s)` : `valid (${r.objects.length} object(s))`}`);
          if (r.errors.length) code = 1;
        } else {
          const r = (cmd === 'apply' ? applyFile : deleteFile)(f, paths);
          r.lines.forEach((l) => out(l));
          if (!r.ok) code = 1;
        }
      }
      return code;
    }
    case 'compose': {
      const manifests = takeFlag(args, ['--manifests'], true)[0] ?? 'k8s/overlays/demo';
      const registry = takeFlag(args, ['--registry'], true)[0];
      const topology = buildTopology(loadKustomization(join(root, manifests)), COMPOSE_SUBNET);
      if (registry) {
        writeRegistry(registry, registryObjects(topology, topology.pods));
        for (const f of upConfig.specs.samples.default.split(','))
          applyFile(join(root, f), { configDir: registry, workloadsDir: join(registry, '..', 'compose-workloads') });
        const boot = composeGatewayBootstrap(topology);
        if (boot) {
          const dir = join(registry, '..', 'compose-bootstrap');
          mkdirSync(dir, { recursive: true });
          writeFileSync(join(dir, boot.name), boot.content);
        }
        out(
          `registry and ingress samples written to ${registry}; gateway bootstrap to ${join(registry, '..', 'compose-bootstrap')}`,
        );
        return 0;
      }
      out(renderCompose(topology).trimEnd());
      return 0;
    }
    case 'kube-inject': {
      if (args.includes('--help') || args.includes('-h')) {
        out(KUBE_INJECT_USAGE);
        return 0;
      }
      const files = takeFlag(args, ['-f', '--filename'], true);
      const proxyImage = takeFlag(args, ['--proxy-image'], true)[0] ?? KUBE_INJECT_DEFAULTS.proxyImage;
      const discoveryAddress =
        takeFlag(args, ['--discovery-address'], true)[0] ?? KUBE_INJECT_DEFAULTS.discoveryAddress;
      if (files.length !== 1 || args.length > 0)
        throw cliErrors.error('CLI_ERR_USAGE', { what: `usage: tsmesh kube-inject -f FILE|-` });
      const text = readFileSync(files[0] === '-' ? 0 : files[0], 'utf8');
      let injected: string;
      try {
        injected = kubeInject(text, { proxyImage, discoveryAddress });
      } catch (e) {
        // a bad input document is a usage error (exit 2), as for bad flags
        if (!isMeshError(e) || e.code !== 'CLI_ERR_KUBE_INJECT') throw e;
        process.stderr.write(`tsmesh: ${e.code}: ${e.message}\n`);
        return 2;
      }
      // wait until written: process.exit right after a large write to a pipe cuts it at 64 KiB
      await new Promise<void>((resolve) => process.stdout.write(injected, () => resolve()));
      return 0;
    }
    case 'proxy-status': {
      if (args.includes('--help') || args.includes('-h')) {
        out(PROXY_STATUS_USAGE);
        return 0;
      }
      const pilot = takeFlag(args, ['--pilot'], true)[0];
      const admin = takeFlag(args, ['--admin'], true)[0];
      const json = takeFlag(args, ['--json'], false).length > 0;
      if (args.length > 1) throw cliErrors.error('CLI_ERR_USAGE', { what: 'usage: tsmesh proxy-status [PROXY]' });
      const proxy = args[0];
      return proxyStatus({
        pilot: pilotUrl(paths.stateFile, pilot),
        proxy,
        admin: () => adminUrl(paths.stateFile, proxy ?? '', admin),
        json,
        out,
      });
    }
    case 'proxy-config': {
      if (args.includes('--help') || args.includes('-h')) {
        out(PROXY_CONFIG_USAGE);
        return 0;
      }
      const admin = takeFlag(args, ['--admin'], true)[0];
      const output = takeFlag(args, ['-o', '--output'], true)[0];
      const filter = Object.fromEntries(
        ['fqdn', 'port', 'subset', 'direction', 'cluster', 'status'].map((k) => [
          k,
          takeFlag(args, [`--${k}`], true)[0],
        ]),
      );
      if (args.length !== 2 || (output && output !== 'json' && output !== 'short'))
        throw cliErrors.error('CLI_ERR_USAGE', {
          what: 'usage: tsmesh proxy-config clusters|listeners|routes|endpoints PROXY [--admin URL] [-o json]',
        });
      const [kind, proxy] = args;
      return proxyConfig({
        kind,
        admin: adminUrl(paths.stateFile, proxy, admin),
        json: output === 'json',
        filter,
        out,
      });
    }
    default:
      throw cliErrors.error('CLI_ERR_USAGE', { what: `unknown command ${cmd}` });
  }
}

/** Exits once stdout has taken everything: process.exit right after a large write to a pipe cuts it at 64 KiB. */
const exitAfterOutput = (code: number) => process.stdout.write('', () => process.exit(code));

main(process.argv.slice(2)).then(
  (code) => exitAfterOutput(code),
  (e: unknown) => {
    const msg = isMeshError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
    process.stderr.write(`tsmesh: ${msg}\n`);
    process.exit(isMeshError(e) && e.code === 'CLI_ERR_USAGE' ? 2 : 1);
  },
);
