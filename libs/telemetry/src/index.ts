export * from './b3';
export * from './span';
export * from './tracer';
export * from './zipkin-exporter';
export * from './access-log';
export * from './istio-metrics';
export * from './telemetry-errors';
