/**
 * Pilot's error catalogue (docs/errors.md section `errors:pilot`). Config errors
 * carry the object and field path; xDS protocol errors close only the offending stream.
 */
import { defineErrors } from '@tsmesh/core';

export const pilotErrors = defineErrors('pilot', {
  PILOT_ERR_INVALID_YAML: {
    message: 'file {file}: not valid YAML: {detail}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Fix the YAML syntax; the objects last loaded from this file keep serving.',
  },
  PILOT_ERR_UNKNOWN_KIND: {
    message: 'file {file}: {object}: unknown kind {kind}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Use one of the Istio 1.0 networking kinds or a Kubernetes Service, Endpoints, Pod or Namespace.',
  },
  PILOT_ERR_INVALID_CONFIG: {
    message: 'file {file}: {kind} {object} rejected',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Correct the fields named in the error; the last good version of the object keeps serving.',
  },
  PILOT_ERR_CONFIG_DIR: {
    message: 'cannot read config directory {dir}: {detail}',
    http: 500,
    grpc: 'FAILED_PRECONDITION',
    hint: 'Pass an existing, readable directory with --config-dir.',
  },
  PILOT_ERR_MESH_CONFIG: {
    message: 'cannot load mesh config {file}: {detail}',
    http: 500,
    grpc: 'FAILED_PRECONDITION',
    hint: 'Pass a readable Istio MeshConfig YAML file with --mesh-config.',
  },
  PILOT_ERR_NO_REGISTRY: {
    message: 'no service registry selected',
    http: 500,
    grpc: 'FAILED_PRECONDITION',
    hint: 'Start Pilot with --config-dir DIR or --kube.',
  },
  PILOT_ERR_BAD_NODE: {
    message: 'bad node id {id}: {detail}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Node ids look like sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local (or router~...).',
  },
  PILOT_ERR_BAD_REQUEST: {
    message: 'bad DiscoveryRequest: {detail}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Send a node in the first request and a known v3 type_url.',
  },
  PILOT_ERR_KUBE: {
    message: 'Kubernetes registry: {detail}',
    http: 500,
    grpc: 'UNAVAILABLE',
    hint: 'Check KUBECONFIG or the in-cluster service account and its RBAC for list/watch.',
  },
});

export type PilotErrorCode = keyof typeof pilotErrors.specs;
