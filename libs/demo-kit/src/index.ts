export * from './settings';
export * from './trace';
export * from './client';
export * from './server';
export * from './db';
export * from './atom';
export * from './html';
export * from './spawn';
