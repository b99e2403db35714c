/**
 * `stdio` adapter (Istio 1.0 `mixer/adapter/stdio`): logentry (and metric)
 * instances as JSON lines on stdout, stderr or a file (`outputPath`).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { valueText, type AttributeValue } from '@tsmesh/attributes';
import { ParamReader } from '../params';
import type { AdapterInfo, Instance } from '../../runtime/types';

function read(params: Record<string, unknown>) {
  const r = new ParamReader(params);
  const logStream = r.enumOf('logStream', ['STDOUT', 'STDERR', 'FILE', 'ROTATED_FILE'] as const, 'STDOUT');
  const outputPath = r.string('outputPath');
  if ((logStream === 'FILE' || logStream === 'ROTATED_FILE') && !outputPath)
    r.errors.push({ path: 'outputPath', message: `required when logStream is ${logStream}` });
  const outputAsJson = r.bool('outputAsJson', true);
  const severityLevels = r.map('severityLevels');
  const outputLevel = r.enumOf('outputLevel', ['INFO', 'WARNING', 'ERROR'] as const, 'INFO');
  return { r, logStream, outputPath, outputAsJson, severityLevels, outputLevel };
}

const LEVELS = { INFO: 0, WARNING: 1, ERROR: 2 } as const;

function jsonValue(v: AttributeValue, type?: string): unknown {
  if (type === 'DURATION' && typeof v === 'number') return `${v}ms`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return valueText(v);
  return v;
}

export function formatEntry(inst: Instance, level: string, asJson: boolean, now: Date): string {
  const out: Record<string, unknown> = { level: level.toLowerCase(), time: now.toISOString(), instance: inst.name };
  const field = inst.fields['variables'] !== undefined ? 'variables' : 'dimensions';
  const vars = (inst.fields[field] ?? {}) as Record<string, AttributeValue>;
  for (const [k, v] of Object.entries(vars)) out[k] = jsonValue(v, inst.types[`${field}.${k}`]);
  if (inst.template === 'metric' && inst.fields['value'] !== undefined)
    out['value'] = jsonValue(inst.fields['value'] as AttributeValue, inst.types['value']);
  if (asJson) return JSON.stringify(out);
  return Object.entries(out)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('\t');
}

export const stdioAdapter: AdapterInfo = {
  name: 'stdio',
  templates: ['logentry', 'metric'],
  validate: (params) => read(params).r.errors,
  build(params, env) {
    const p = read(params);
    let file: WriteStream | null = null;
    const write = (line: string) => {
      if (p.logStream === 'STDOUT') process.stdout.write(line + '\n');
      else if (p.logStream === 'STDERR') process.stderr.write(line + '\n');
      else {
        file ??= createWriteStream(p.outputPath, { flags: 'a' });
        file.write(line + '\n');
      }
    };
    return {
      handleReport(instances) {
        for (const inst of instances) {
          const sev = String(inst.fields['severity'] ?? 'INFO');
          const mapped = String(p.severityLevels[sev] ?? sev).toUpperCase();
          const level = mapped in LEVELS ? (mapped as keyof typeof LEVELS) : 'INFO';
          if (LEVELS[level] < LEVELS[p.outputLevel]) continue;
          const ts = inst.fields['timestamp'];
          write(formatEntry(inst, level, p.outputAsJson, ts instanceof Date ? ts : new Date(env.clock.now())));
        }
      },
      close: () =>
        new Promise<void>((resolve) => {
          if (!file) return resolve();
          file.end(() => resolve());
        }),
    };
  },
};
