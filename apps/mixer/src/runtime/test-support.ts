/** Builds a Runtime over fixture YAML for tests. */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createRegistry, FakeClock, silentLogger, type Clock } from '@tsmesh/core';
import { registerBuiltinAdapters } from '../adapters/registry';
import { parseConfigText, type RawObject } from '../config/loader';
import { Runtime } from './runtime';
import type { AdapterInfo } from './types';

export function fixture(name: string): RawObject[] {
  const file = join(__dirname, '..', '__fixtures__', name);
  return parseConfigText(readFileSync(file, 'utf8'), file).objects;
}

export function yamlObjects(text: string, file = 'inline.yaml'): RawObject[] {
  const r = parseConfigText(text, file);
  if (r.problems.length) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.objects;
}

export function testRuntime(
  opts: { clock?: Clock; adapters?: Map<string, AdapterInfo>; quotaBackendUnavailable?: 'grant' | 'deny' } = {},
) {
  const clock = opts.clock ?? new FakeClock();
  const selfRegistry = createRegistry(false);
  const promRegistry = createRegistry(false);
  const runtime = new Runtime({
    adapters: opts.adapters ?? registerBuiltinAdapters(),
    clock,
    logger: silentLogger(),
    selfRegistry,
    promRegistry,
    quotaBackendUnavailable: opts.quotaBackendUnavailable ?? 'grant',
    defaultNamespace: 'istio-system',
    defaultValidDurationMs: 60_000,
    defaultValidUseCount: 10_000,
  });
  return { runtime, clock, selfRegistry, promRegistry };
}
