/**
 * Process life cycle shared by every deployable: parse settings (printing
 * `--help`), run, exit non-zero with one clear line on a start-up error, and
 * drain gracefully on SIGTERM/SIGINT.
 */
import { isMeshError } from './errors';
import { parseConfig, renderHelp, type ConfigDefinition, type Settings, type SettingsSpec } from './config';

export interface Running {
  /** Stops accepting work, finishes in-flight work, releases resources. */
  stop(): Promise<void>;
}

export interface MainOptions {
  /** Upper bound for a graceful stop before the process exits anyway. */
  drainTimeoutMs?: number;
}

export function runMain<S extends SettingsSpec>(
  def: ConfigDefinition<S>,
  start: (settings: Settings<S>, positional: string[]) => Promise<Running>,
  options: MainOptions = {},
): void {
  let parsed;
  try {
    parsed = parseConfig(def);
  } catch (e) {
    failStartup(def.component, e);
    return;
  }
  if (parsed.help) {
    process.stdout.write(renderHelp(def) + '\n');
    return;
  }
  start(parsed.settings, parsed.positional).then(
    (running) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        const hard = setTimeout(() => process.exit(0), options.drainTimeoutMs ?? 10_000);
        hard.unref();
        running.stop().then(
          () => process.exit(0),
          (err) => {
            process.stderr.write(`${def.component}: error while stopping after ${signal}: ${String(err)}\n`);
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    },
    (err) => failStartup(def.component, err),
  );
}

function failStartup(component: string, err: unknown): void {
  const line = isMeshError(err) ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`${component}: ${line}\n`);
  process.exitCode = 2;
  setImmediate(() => process.exit(2));
}
