export * from './types';
export * from './resource-deps';
export * from './xds-stats';
export * from './xds-client';
export * from './grpc-transport';
