export * from './types';
export * from './resource-deps';
export * from './xds-stats';
export * from './warming';
export * from './xds-client';
export * from './h2-transport';
