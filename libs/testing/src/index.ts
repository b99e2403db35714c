export * from './ports';
export * from './temp';
export * from './wait';
export * from './http';
export * from './process';
export * from './certs';
export { FakeClock, SeededRandom, SequenceRandom, silentLogger } from '@tsmesh/core';
export * from './fake-ads';
export * from './fake-kube';
