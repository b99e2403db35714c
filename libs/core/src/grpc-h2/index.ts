export * from './status';
export * from './framing';
export * from './session';
export * from './unary';
