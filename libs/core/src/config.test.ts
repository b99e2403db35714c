import { defineConfig, parseConfig, renderHelp, renderConfigDoc } from './config';
import { isMeshError, renderErrorsDoc } from './errors';
import { coreErrors } from './core-errors';
import { syncDocSection } from './doc-sections';
import { join } from 'node:path';

const def = defineConfig('pilot', 'PILOT', {
  grpcAddr: { kind: 'string', default: '0.0.0.0:15010', description: 'xDS gRPC listen address' },
  debounceAfter: { kind: 'duration', default: '100ms', description: 'quiet time before a push' },
  kube: { kind: 'bool', default: false, description: 'use the Kubernetes registry' },
  maxClients: { kind: 'int', default: 1000, description: 'connected proxies limit' },
  mode: { kind: 'enum', values: ['policy', 'telemetry', 'both'], default: 'both', description: 'role' },
  namespaces: { kind: 'list', default: 'default,istio-system', description: 'watched namespaces' },
});

describe('parseConfig', () => {
  it('uses defaults, then env, then flags', () => {
    const { settings } = parseConfig(def, ['--debounce-after', '2s'], {
      PILOT_GRPC_ADDR: '127.0.0.1:0',
      PILOT_DEBOUNCE_AFTER: '5s',
    });
    expect(settings.grpcAddr).toBe('127.0.0.1:0');
    expect(settings.debounceAfter).toBe(2000);
    expect(settings.kube).toBe(false);
    expect(settings.maxClients).toBe(1000);
    expect(settings.namespaces).toEqual(['default', 'istio-system']);
  });

  it('takes --flag=value, bare booleans and --no-flag', () => {
    expect(parseConfig(def, ['--kube'], {}).settings.kube).toBe(true);
    expect(parseConfig(def, ['--kube', '--mode=policy'], {}).settings.mode).toBe('policy');
    expect(parseConfig(def, ['--no-kube'], { PILOT_KUBE: 'true' }).settings.kube).toBe(false);
  });

  it('refuses unknown flags and bad values with a coded error naming the setting', () => {
    expect(() => parseConfig(def, ['--nope'], {})).toThrow(/CORE_ERR_UNKNOWN_FLAG|unknown flag --nope/);
    try {
      parseConfig(def, [], { PILOT_DEBOUNCE_AFTER: 'soon' });
      throw new Error('should have thrown');
    } catch (e) {
      expect(isMeshError(e) && e.code).toBe('CORE_ERR_BAD_SETTING');
      expect(String(e)).toContain('PILOT_DEBOUNCE_AFTER');
    }
    expect(() => parseConfig(def, ['--mode', 'all'], {})).toThrow(/one of policy, telemetry, both/);
    expect(() => parseConfig(def, ['--max-clients', '1.5'], {})).toThrow(/integer/);
  });

  it('renders help and the docs section from the same list', () => {
    const help = renderHelp(def);
    expect(help).toContain('--debounce-after <duration>  [$PILOT_DEBOUNCE_AFTER] default 100ms');
    expect(renderConfigDoc(def)).toContain('| `--grpc-addr` | `PILOT_GRPC_ADDR` | string | `0.0.0.0:15010` |');
  });
});

describe('docs/errors.md', () => {
  it('lists every core error code', () => {
    const rendered = renderErrorsDoc(coreErrors);
    expect(rendered).toContain('CORE_ERR_BAD_SETTING');
    expect(syncDocSection(join(__dirname, '../../../docs/errors.md'), rendered)).toBeNull();
  });
});
