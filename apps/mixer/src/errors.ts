/** Mixer's error catalogue (config and start-up errors; data-path outcomes are google.rpc statuses). */
import { defineErrors } from '@tsmesh/core';

export const mixerErrors = defineErrors('mixer', {
  MIXER_ERR_INVALID_CONFIG: {
    message: '{file}:{line}: {kind} {namespace}/{name} rejected',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Fix the fields named in the error; the last good version of the object keeps serving.',
  },
  MIXER_ERR_UNKNOWN_REFERENCE: {
    message: 'rule {namespace}/{name} refers to {what} {ref}, which does not exist',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Reference handlers and instances as name.kind[.namespace], and apply them before the rule.',
  },
  MIXER_ERR_CONFIG_DIR: {
    message: 'cannot read config folder {dir}: {why}',
    http: 500,
    grpc: 'FAILED_PRECONDITION',
    hint: 'Point --config-dir at a readable folder of YAML files.',
  },
  MIXER_ERR_KUBE: {
    message: 'Kubernetes config source: {detail}',
    http: 500,
    grpc: 'UNAVAILABLE',
    hint: 'Check KUBECONFIG or the in-cluster service account and its RBAC (list/watch on config.istio.io).',
  },
  MIXER_ERR_DICTIONARY_MISMATCH: {
    message: 'client global dictionary has {client} words, this Mixer knows {server}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Client and Mixer disagree on the global word list; upgrade the older one.',
  },
});
