export * from './bootstrap-errors';
export * from './load';
export * from './generate';
export * from './local-rewrite';
export * from './access-log-hook';
export * from './tracing-filter';
export * from './proxy-runtime';
export * from './proxy-process';
