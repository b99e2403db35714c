/**
 * Istio 1.0 templates (`mixer/template/*`): which fields an instance has and
 * how each is written (an expression, or a map of expressions). Field names are
 * accepted in snake_case (proto) or camelCase (YAML of the 1.0 samples).
 */
export type Variety = 'check' | 'report' | 'quota';
export type FieldKind = 'expr' | 'map' | 'constant';

export interface TemplateInfo {
  name: string;
  variety: Variety;
  fields: Record<string, FieldKind>;
  required?: readonly string[];
}

export const TEMPLATES: Record<string, TemplateInfo> = {
  metric: {
    name: 'metric',
    variety: 'report',
    fields: { value: 'expr', dimensions: 'map', monitored_resource_type: 'expr', monitored_resource_dimensions: 'map' },
    required: ['value'],
  },
  logentry: {
    name: 'logentry',
    variety: 'report',
    fields: {
      variables: 'map',
      timestamp: 'expr',
      severity: 'expr',
      monitored_resource_type: 'expr',
      monitored_resource_dimensions: 'map',
    },
  },
  tracespan: {
    name: 'tracespan',
    variety: 'report',
    fields: {
      trace_id: 'expr',
      span_id: 'expr',
      parent_span_id: 'expr',
      span_name: 'expr',
      start_time: 'expr',
      end_time: 'expr',
      span_tags: 'map',
      http_status_code: 'expr',
      client_span: 'expr',
      rewrite_client_span_id: 'expr',
    },
    required: ['trace_id', 'span_id', 'span_name', 'start_time', 'end_time'],
  },
  reportnothing: { name: 'reportnothing', variety: 'report', fields: {} },
  checknothing: { name: 'checknothing', variety: 'check', fields: {} },
  listentry: { name: 'listentry', variety: 'check', fields: { value: 'expr' }, required: ['value'] },
  quota: { name: 'quota', variety: 'quota', fields: { dimensions: 'map' } },
};

export const snakeCase = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
