import { fqdn, hostMatches } from './hosts';
import type { ConfigObject, ValidationIssue } from './types/object';
import type { VirtualServiceSpec, Destination } from './types/networking';
import type { DestinationRuleSpec } from './types/destination-rule';

/**
 * Checks that need several objects. Only warnings: an object is never
 * refused because of another one (the other may arrive later).
 */
export function crossObjectWarnings(
  objects: ConfigObject[],
  all: ConfigObject[],
): { object: ConfigObject; issue: ValidationIssue }[] {
  const out: { object: ConfigObject; issue: ValidationIssue }[] = [];
  const rules = all
    .filter((o) => o.kind === 'DestinationRule')
    .map((o) => {
      const spec = o.spec as DestinationRuleSpec;
      return {
        host: fqdn(spec.host ?? '', o.metadata.namespace),
        subsets: new Set((spec.subsets ?? []).map((s) => s.name)),
      };
    });
  for (const vs of objects.filter((o) => o.kind === 'VirtualService')) {
    const spec = vs.spec as VirtualServiceSpec;
    const check = (d: Destination | undefined, path: string) => {
      if (!d?.subset || !d.host) return;
      const host = fqdn(d.host, vs.metadata.namespace);
      const matching = rules.filter((r) => hostMatches(r.host, host));
      if (matching.some((r) => r.subsets.has(d.subset as string))) return;
      const message =
        matching.length === 0
          ? `subset ${d.subset} of host ${d.host} is not defined: no DestinationRule for ${host}`
          : `subset ${d.subset} is not defined in the DestinationRule for ${host}`;
      out.push({ object: vs, issue: { path: `${path}.subset`, message } });
    };
    (spec.http ?? []).forEach((r, i) => {
      (r.route ?? []).forEach((d, j) => check(d.destination, `spec.http[${i}].route[${j}].destination`));
      check(r.mirror, `spec.http[${i}].mirror`);
      (r.mirrors ?? []).forEach((m, j) => check(m.destination, `spec.http[${i}].mirrors[${j}].destination`));
    });
    for (const f of ['tcp', 'tls'] as const) {
      (spec[f] ?? []).forEach((r, i) =>
        (r.route ?? []).forEach((d, j) => check(d.destination, `spec.${f}[${i}].route[${j}].destination`)),
      );
    }
  }
  return out;
}
