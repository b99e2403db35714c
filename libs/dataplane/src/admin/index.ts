export * from './types';
export * from './render-clusters';
export * from './admin-server';
export * from './config-dump';
