/**
 * What makes the client NACK a response: resources that did not decode, a resource whose
 * `@type` is not the response's type, a missing or duplicate name (xDS protocol: "a response
 * with the same resource name twice" must be NACKed), and whatever the engine's validation
 * rejects. Every problem is collected; joined, they are the NACK's `error_detail`.
 */
import { resourceName } from './resource-deps';
import type { ConfigSink, DiscoveryResponse } from './types';

export function checkResponse(res: DiscoveryResponse, sink: Pick<ConfigSink, 'validate'>): string[] {
  const errors: string[] = [...(res.decodeErrors ?? [])];
  const seen = new Set<string>();
  res.resources.forEach((r, i) => {
    const type = r['@type'];
    if (type !== undefined && type !== res.type_url) {
      errors.push(`resources[${i}]: type ${String(type)} does not match ${res.type_url}`);
    }
    const name = resourceName(res.type_url, r);
    if (name === '') errors.push(`resources[${i}]: missing name`);
    else if (seen.has(name)) errors.push(`resources[${i}]: duplicate resource name ${name}`);
    seen.add(name);
  });
  if (errors.length) return errors;
  try {
    return sink.validate(res.type_url, res.resources);
  } catch (e) {
    return [`validation failed: ${(e as Error).message}`];
  }
}
