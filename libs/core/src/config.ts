/**
 * Typed config registry: each setting is declared once (name, flag, env var,
 * default, description); parsing of argv + env, `--help` and docs/config.md all
 * come from that one list. A bad value fails start-up with CORE_ERR_BAD_SETTING.
 */
import { coreErrors } from './core-errors';
import { parseDuration, formatDuration } from './duration';

type Kind = 'string' | 'int' | 'number' | 'bool' | 'duration' | 'list' | 'enum';
type ValueOf<K extends Kind> = K extends 'string' | 'enum'
  ? string
  : K extends 'int' | 'number' | 'duration'
    ? number
    : K extends 'bool'
      ? boolean
      : string[];

export interface SettingSpec<K extends Kind = Kind> {
  kind: K;
  /** Default value; durations as text (`100ms`) or milliseconds. Omit for required settings. */
  default?: ValueOf<K> | string;
  description: string;
  /** For `enum`. */
  values?: readonly string[];
  /** Overrides the derived flag (`debounceAfter` → `--debounce-after`). */
  flag?: string;
  /** Overrides the derived env var (`PREFIX_DEBOUNCE_AFTER`). */
  env?: string;
  /** A setting that must be given. */
  required?: boolean;
}

export type SettingsSpec = Record<string, SettingSpec>;
export type Settings<S extends SettingsSpec> = { [P in keyof S]: ValueOf<S[P]['kind']> };

export interface ConfigDefinition<S extends SettingsSpec> {
  component: string;
  envPrefix: string;
  usage: string;
  specs: S;
}

/** Declares a component's settings. Env vars are `<envPrefix>_<SNAKE_NAME>` unless overridden. */
export function defineConfig<S extends SettingsSpec>(
  component: string,
  envPrefix: string,
  specs: S,
  usage = `node dist/apps/${component}/main.js [flags]`,
): ConfigDefinition<S> {
  return { component, envPrefix, specs, usage };
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

export function flagOf(name: string, spec: SettingSpec): string {
  return spec.flag ?? `--${kebab(name)}`;
}
export function envOf(def: ConfigDefinition<SettingsSpec>, name: string, spec: SettingSpec): string {
  return spec.env ?? `${def.envPrefix}_${snake(name)}`;
}

function convert(name: string, spec: SettingSpec, raw: unknown, source: string): unknown {
  const bad = (why: string) => coreErrors.error('CORE_ERR_BAD_SETTING', { setting: source, value: raw, why });
  if (typeof raw !== 'string') return raw;
  switch (spec.kind) {
    case 'string':
      return raw;
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw bad('expected an integer');
      return Number(raw);
    }
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || Number.isNaN(n)) throw bad('expected a number');
      return n;
    }
    case 'bool': {
      const v = raw.toLowerCase();
      if (['1', 'true', 'yes', 'on', ''].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw bad('expected true or false');
    }
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms === null) throw bad('expected a duration such as 100ms, 10s, 1m or 24h');
      return ms;
    }
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    case 'enum':
      if (!spec.values?.includes(raw)) throw bad(`expected one of ${spec.values?.join(', ')}`);
      return raw;
  }
  void name;
  return raw;
}

export interface ParseResult<S extends SettingsSpec> {
  settings: Settings<S>;
  /** Non-flag arguments, in order. */
  positional: string[];
  help: boolean;
}

/**
 * Parses flags (`--name value`, `--name=value`, `--bool`, `--no-bool`) over env
 * vars over defaults. Unknown flags and bad values throw CORE_ERR_BAD_SETTING.
 */
export function parseConfig<S extends SettingsSpec>(
  def: ConfigDefinition<S>,
  argv: readonly string[] = process.argv.slice(2),
  env: Readonly<Record<string, string | undefined>> = process.env,
): ParseResult<S> {
  const byFlag = new Map<string, string>();
  for (const [name, spec] of Object.entries(def.specs)) byFlag.set(flagOf(name, spec), name);
  const fromFlags = new Map<string, string>();
  const positional: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let flag = eq >= 0 ? arg.slice(0, eq) : arg;
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let name = byFlag.get(flag);
    if (!name && flag.startsWith('--no-')) {
      const positive = byFlag.get(`--${flag.slice(5)}`);
      if (positive && def.specs[positive].kind === 'bool' && value === undefined) {
        name = positive;
        flag = `--${flag.slice(5)}`;
        value = 'false';
      }
    }
    if (!name) throw coreErrors.error('CORE_ERR_UNKNOWN_FLAG', { flag, component: def.component });
    if (value === undefined) {
      if (def.specs[name].kind === 'bool' && (i + 1 >= argv.length || argv[i + 1].startsWith('--'))) value = 'true';
      else if (i + 1 < argv.length) value = argv[++i];
      else throw coreErrors.error('CORE_ERR_BAD_SETTING', { setting: flag, value: '', why: 'missing value' });
    }
    fromFlags.set(name, value);
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(def.specs)) {
    const envName = envOf(def, name, spec);
    if (fromFlags.has(name)) out[name] = convert(name, spec, fromFlags.get(name), flagOf(name, spec));
    else if (env[envName] !== undefined) out[name] = convert(name, spec, env[envName], envName);
    else if (spec.default !== undefined) out[name] = convert(name, spec, spec.default, `${flagOf(name, spec)} default`);
    else if (spec.required && !help)
      throw coreErrors.error('CORE_ERR_MISSING_SETTING', { flag: flagOf(name, spec), env: envName });
    else out[name] = spec.kind === 'list' ? [] : spec.kind === 'bool' ? false : undefined;
  }
  return { settings: out as Settings<S>, positional, help };
}

function defaultText(spec: SettingSpec): string {
  if (spec.default === undefined) return spec.required ? '(required)' : '';
  if (spec.kind === 'duration' && typeof spec.default === 'number') return formatDuration(spec.default);
  if (Array.isArray(spec.default)) return spec.default.join(',');
  return String(spec.default);
}

/** The `--help` text. */
export function renderHelp(def: ConfigDefinition<SettingsSpec>): string {
  const lines = [`Usage: ${def.usage}`, '', 'Flags (each also read from the environment variable shown):'];
  for (const [name, spec] of Object.entries(def.specs)) {
    const d = defaultText(spec);
    const values = spec.values ? ` (${spec.values.join('|')})` : '';
    lines.push(`  ${flagOf(name, spec)} <${spec.kind}>  [$${envOf(def, name, spec)}]${d ? ` default ${d}` : ''}`);
    lines.push(`      ${spec.description}${values}`);
  }
  lines.push('  --help  print this help');
  return lines.join('\n');
}

/** The component's section of docs/config.md. */
export function renderConfigDoc(def: ConfigDefinition<SettingsSpec>): string {
  const cell = (t: string) => t.replace(/\|/g, '\\|');
  const rows = Object.entries(def.specs).map(([name, spec]) => {
    const values = spec.values ? ` One of ${spec.values.map((v) => `\`${v}\``).join(', ')}.` : '';
    return `| \`${flagOf(name, spec)}\` | \`${envOf(def, name, spec)}\` | ${spec.kind} | ${cell(defaultText(spec)) ? `\`${cell(defaultText(spec))}\`` : ''} | ${cell(spec.description)}${values} |`;
  });
  return [
    `<!-- config:${def.component}:begin -->`,
    `| flag | env | type | default | description |`,
    `| --- | --- | --- | --- | --- |`,
    ...rows,
    `<!-- config:${def.component}:end -->`,
  ].join('\n');
}
