/**
 * Workload labels in the node metadata, in both forms Istio's agent sends: `LABELS` as a
 * google.protobuf.Struct map (`{app: ratings, version: v1}`, what Pilot matches Gateway selectors,
 * subsets and `sourceLabels` against) and `ISTIO_METAJSON_LABELS` as the JSON text of the same map.
 * Labels may also arrive from the environment (`ISTIO_META_LABELS` is a plain string, so it holds
 * JSON text or `k=v,k=v`; `ISTIO_METAJSON_LABELS` is already parsed); flags win over those.
 */

/** A labels value in any form (object, JSON text, `k=v,k=v`) → a string map; junk → `{}`. */
export function labelsFromValue(value: unknown): Record<string, string> {
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === '') return {};
    if (text.startsWith('{')) {
      try {
        return labelsFromValue(JSON.parse(text));
      } catch {
        return {};
      }
    }
    const out: Record<string, string> = {};
    for (const item of text.split(',')) {
      const i = item.indexOf('=');
      if (i > 0) out[item.slice(0, i).trim()] = item.slice(i + 1).trim();
    }
    return out;
  }
  const out: Record<string, string> = {};
  if (value && typeof value === 'object' && !Array.isArray(value))
    for (const [k, v] of Object.entries(value))
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
  return out;
}

/**
 * Sets `LABELS` (object) and `ISTIO_METAJSON_LABELS` (JSON text) on `metadata`: the labels already
 * there in either key (from the environment), overridden by `flagLabels`.
 */
export function withLabelsMetadata(
  metadata: Record<string, unknown>,
  flagLabels: Readonly<Record<string, string>> = {},
): Record<string, unknown> {
  const labels = {
    ...labelsFromValue(metadata['ISTIO_METAJSON_LABELS']),
    ...labelsFromValue(metadata['LABELS']),
    ...flagLabels,
  };
  return { ...metadata, LABELS: labels, ISTIO_METAJSON_LABELS: JSON.stringify(labels) };
}
