/**
 * Settings for demo apps: every setting is a flag (`--port 9080`) and an
 * environment variable (`PORT=9080`), flag wins. Demo apps know nothing of the
 * mesh, so this is deliberately separate from `@tsmesh/core`'s registry.
 */
export type DemoSettingKind = 'string' | 'int' | 'bool';

export interface DemoSettingSpec {
  kind: DemoSettingKind;
  default: string | number | boolean;
  description: string;
  /** Environment variable; defaults to the SNAKE_CASE of the name. */
  env?: string;
}

export type DemoSpecs = Record<string, DemoSettingSpec>;
export type DemoSettings<S extends DemoSpecs> = {
  [K in keyof S]: S[K]['kind'] extends 'int' ? number : S[K]['kind'] extends 'bool' ? boolean : string;
};

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

export function envName(name: string, spec: DemoSettingSpec): string {
  return spec.env ?? snake(name);
}

/** Thrown for a bad flag or value; `runDemo` prints its message on one line and exits 2. */
export class DemoSettingError extends Error {}

function convert(spec: DemoSettingSpec, raw: string, where: string): string | number | boolean {
  if (spec.kind === 'int') {
    if (!/^-?\d+$/.test(raw.trim()))
      throw new DemoSettingError(`invalid value ${JSON.stringify(raw)} for ${where}: expected an integer`);
    return Number(raw);
  }
  if (spec.kind === 'bool') {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on', ''].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new DemoSettingError(`invalid value ${JSON.stringify(raw)} for ${where}: expected true or false`);
  }
  return raw;
}

export interface ParsedDemoArgs<S extends DemoSpecs> {
  settings: DemoSettings<S>;
  help: boolean;
}

/** Flags over env over defaults; unknown flags are refused. */
export function parseDemoSettings<S extends DemoSpecs>(
  specs: S,
  argv: readonly string[] = process.argv.slice(2),
  env: Readonly<Record<string, string | undefined>> = process.env,
): ParsedDemoArgs<S> {
  const byFlag = new Map(Object.keys(specs).map((n) => [`--${kebab(n)}`, n]));
  const flags = new Map<string, string>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const name = byFlag.get(flag);
    if (!name) throw new DemoSettingError(`unknown flag ${flag} (see --help)`);
    let value = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (value === undefined) {
      if (specs[name].kind === 'bool' && (i + 1 >= argv.length || argv[i + 1].startsWith('--'))) value = 'true';
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new DemoSettingError(`missing value for ${flag}`);
    }
    flags.set(name, value);
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const e = envName(name, spec);
    if (flags.has(name)) out[name] = convert(spec, flags.get(name) as string, `--${kebab(name)}`);
    else if (env[e] !== undefined && env[e] !== '') out[name] = convert(spec, env[e] as string, `$${e}`);
    else out[name] = spec.default;
  }
  return { settings: out as DemoSettings<S>, help };
}

export function renderDemoHelp(app: string, specs: DemoSpecs): string {
  const lines = [
    `Usage: node dist/apps/${app}/main.js [flags]`,
    '',
    'Flags (each also read from the environment variable shown):',
  ];
  for (const [name, spec] of Object.entries(specs)) {
    lines.push(`  --${kebab(name)} <${spec.kind}>  [$${envName(name, spec)}] default ${JSON.stringify(spec.default)}`);
    lines.push(`      ${spec.description}`);
  }
  lines.push('  --help  print this help');
  return lines.join('\n');
}

/** Host/port/log settings every demo app takes. */
export function serverSpecs(defaultPort: number) {
  return {
    host: { kind: 'string', default: '0.0.0.0', description: 'address to listen on', env: 'HOST' },
    port: { kind: 'int', default: defaultPort, description: 'port to listen on (0 picks a free one)', env: 'PORT' },
    logLevel: {
      kind: 'string',
      default: 'info',
      description: 'log level (debug, info, warn, error)',
      env: 'LOG_LEVEL',
    },
  } as const satisfies DemoSpecs;
}

/** The database settings every shop service shares: `pg` at DATABASE_URL, else embedded PGlite. */
export function databaseSpecs(defaultSchema: string) {
  return {
    databaseUrl: {
      kind: 'string',
      default: '',
      description: 'PostgreSQL URL; empty runs embedded PGlite',
      env: 'DATABASE_URL',
    },
    dataDir: {
      kind: 'string',
      default: '',
      description: 'PGlite data directory; empty keeps data in memory',
      env: 'PGLITE_DATA_DIR',
    },
    schema: {
      kind: 'string',
      default: defaultSchema,
      description: "this service's schema in the shared database",
      env: 'DB_SCHEMA',
    },
  } as const satisfies DemoSpecs;
}
