import { defineErrors } from './errors';

/** Errors raised by libs/core itself (settings parsing). */
export const coreErrors = defineErrors('core', {
  CORE_ERR_BAD_SETTING: {
    message: 'invalid value {value} for {setting}: {why}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Fix the flag or environment variable; `--help` lists every setting with its type.',
  },
  CORE_ERR_UNKNOWN_FLAG: {
    message: 'unknown flag {flag} for {component}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Run with --help to see the flags this component takes.',
  },
  CORE_ERR_MISSING_SETTING: {
    message: 'missing required setting {flag} (or ${env})',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Pass the flag or set the environment variable.',
  },
});
