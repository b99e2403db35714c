/** The `tsmesh` command's error catalogue (docs/errors.md, section cli). */
import { defineErrors } from '@tsmesh/core';

export const cliErrors = defineErrors('cli', {
  CLI_ERR_USAGE: {
    message: '{what}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Run `tsmesh help` for the commands and their flags.',
  },
  CLI_ERR_INVALID_CONFIG: {
    message: '{count} problem(s) in {file}; nothing was written',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Each problem names the file, line, object and field; fix them and apply again.',
  },
  CLI_ERR_MANIFESTS: {
    message: 'cannot read the topology from {path}: {why}',
    http: 500,
    grpc: 'FAILED_PRECONDITION',
    hint: 'Run from the repository root (or pass --manifests) so k8s/overlays/demo and its kustomizations can be read.',
  },
  CLI_ERR_KUBE_INJECT: {
    message: '{doc}: {field}: {why}; nothing was written',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: '`tsmesh kube-inject` needs Kubernetes objects; fix the named field of that document (counted from 0) and run it again.',
  },
  CLI_ERR_ALREADY_RUNNING: {
    message: 'a mesh is already running (supervisor pid {pid}, state in {state})',
    http: 409,
    grpc: 'ALREADY_EXISTS',
    hint: 'Run `tsmesh down` first, or `tsmesh status` to see it.',
  },
  CLI_ERR_NOT_RUNNING: {
    message: 'no mesh is running (no {state})',
    http: 404,
    grpc: 'NOT_FOUND',
    hint: 'Start one with `tsmesh up` (or `npm start`).',
  },
  CLI_ERR_NOT_READY: {
    message: 'the mesh did not become ready within {timeout}: {waiting}',
    http: 503,
    grpc: 'UNAVAILABLE',
    hint: 'Look at the process logs in .tsmesh/logs/; `tsmesh status` shows which process is not ready.',
  },
});
