/**
 * Istio 1.0's default telemetry config (helm `charts/mixer/templates/config.yaml`):
 * the six standard metric instances, the prometheus handler and the promhttp /
 * promtcp rules. Loaded before --config-dir unless --no-builtin-config.
 */
export const BUILTIN_CONFIG_YAML = `
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata:
  name: requestcount
  namespace: istio-system
spec:
  value: '1'
  dimensions:
    reporter: 'conditional((context.reporter.kind | "inbound") == "outbound", "source", "destination")'
    source_app: 'source.labels["app"] | "unknown"'
    source_principal: 'source.principal | "unknown"'
    source_workload: 'source.workload.name | "unknown"'
    source_workload_namespace: 'source.workload.namespace | "unknown"'
    source_version: 'source.labels["version"] | "unknown"'
    destination_app: 'destination.labels["app"] | "unknown"'
    destination_principal: 'destination.principal | "unknown"'
    destination_workload: 'destination.workload.name | "unknown"'
    destination_workload_namespace: 'destination.workload.namespace | "unknown"'
    destination_version: 'destination.labels["version"] | "unknown"'
    destination_service: 'destination.service.host | "unknown"'
    destination_service_name: 'destination.service.name | "unknown"'
    destination_service_namespace: 'destination.service.namespace | "unknown"'
    request_protocol: 'api.protocol | context.protocol | "unknown"'
    response_code: 'response.code | 200'
    connection_security_policy: 'conditional((context.reporter.kind | "inbound") == "outbound", "unknown", conditional(connection.mtls | false, "mutual_tls", "none"))'
  monitored_resource_type: '"UNSPECIFIED"'
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata:
  name: requestduration
  namespace: istio-system
spec:
  value: 'response.duration | "0ms"'
  dimensions:
    reporter: 'conditional((context.reporter.kind | "inbound") == "outbound", "source", "destination")'
    source_app: 'source.labels["app"] | "unknown"'
    source_principal: 'source.principal | "unknown"'
    source_workload: 'source.workload.name | "unknown"'
    source_workload_namespace: 'source.workload.namespace | "unknown"'
    source_version: 'source.labels["version"] | "unknown"'
    destination_app: 'destination.labels["app"] | "unknown"'
    destination_principal: 'destination.principal | "unknown"'
    destination_workload: 'destination.workload.name | "unknown"'
    destination_workload_namespace: 'destination.workload.namespace | "unknown"'
    destination_version: 'destination.labels["version"] | "unknown"'
    destination_service: 'destination.service.host | "unknown"'
    destination_service_name: 'destination.service.name | "unknown"'
    destination_service_namespace: 'destination.service.namespace | "unknown"'
    request_protocol: 'api.protocol | context.protocol | "unknown"'
    response_code: 'response.code | 200'
    connection_security_policy: 'conditional((context.reporter.kind | "inbound") == "outbound", "unknown", conditional(connection.mtls | false, "mutual_tls", "none"))'
  monitored_resource_type: '"UNSPECIFIED"'
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata:
  name: requestsize
  namespace: istio-system
spec:
  value: 'request.size | 0'
  dimensions:
    reporter: 'conditional((context.reporter.kind | "inbound") == "outbound", "source", "destination")'
    source_app: 'source.labels["app"] | "unknown"'
    source_principal: 'source.principal | "unknown"'
    source_workload: 'source.workload.name | "unknown"'
    source_workload_namespace: 'source.workload.namespace | "unknown"'
    source_version: 'source.labels["version"] | "unknown"'
    destination_app: 'destination.labels["app"] | "unknown"'
    destination_principal: 'destination.principal | "unknown"'
    destination_workload: 'destination.workload.name | "unknown"'
    destination_workload_namespace: 'destination.workload.namespace | "unknown"'
    destination_version: 'destination.labels["version"] | "unknown"'
    destination_service: 'destination.service.host | "unknown"'
    destination_service_name: 'destination.service.name | "unknown"'
    destination_service_namespace: 'destination.service.namespace | "unknown"'
    request_protocol: 'api.protocol | context.protocol | "unknown"'
    response_code: 'response.code | 200'
    connection_security_policy: 'conditional((context.reporter.kind | "inbound") == "outbound", "unknown", conditional(connection.mtls | false, "mutual_tls", "none"))'
  monitored_resource_type: '"UNSPECIFIED"'
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata:
  name: responsesize
  namespace: istio-system
spec:
  value: 'response.size | 0'
  dimensions:
    reporter: 'conditional((context.reporter.kind | "inbound") == "outbound", "source", "destination")'
    source_app: 'source.labels["app"] | "unknown"'
    source_principal: 'source.principal | "unknown"'
    source_workload: 'source.workload.name | "unknown"'
    source_workload_namespace: 'source.workload.namespace | "unknown"'
    source_version: 'source.labels["version"] | "unknown"'
    destination_app: 'destination.labels["app"] | "unknown"'
    destination_principal: 'destination.principal | "unknown"'
    destination_workload: 'destination.workload.name | "unknown"'
    destination_workload_namespace: 'destination.workload.namespace | "unknown"'
    destination_version: 'destination.labels["version"] | "unknown"'
    destination_service: 'destination.service.host | "unknown"'
    destination_service_name: 'destination.service.name | "unknown"'
    destination_service_namespace: 'destination.service.namespace | "unknown"'
    request_protocol: 'api.protocol | context.protocol | "unknown"'
    response_code: 'response.code | 200'
    connection_security_policy: 'conditional((context.reporter.kind | "inbound") == "outbound", "unknown", conditional(connection.mtls | false, "mutual_tls", "none"))'
  monitored_resource_type: '"UNSPECIFIED"'
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata:
  name: tcpbytesent
  namespace: istio-system
spec:
  value: 'connection.sent.bytes | 0'
  dimensions:
    reporter: 'conditional((context.reporter.kind | "inbound") == "outbound", "source", "destination")'
    source_app: 'source.labels["app"] | "unknown"'
    source_principal: 'source.principal | "unknown"'
    source_workload: 'source.workload.name | "unknown"'
    source_workload_namespace: 'source.workload.namespace | "unknown"'
    source_version: 'source.labels["version"] | "unknown"'
    destination_app: 'destination.labels["app"] | "unknown"'
    destination_principal: 'destination.principal | "unknown"'
    destination_workload: 'destination.workload.name | "unknown"'
    destination_workload_namespace: 'destination.workload.namespace | "unknown"'
    destination_version: 'destination.labels["version"] | "unknown"'
    destination_service: 'destination.service.name | "unknown"'
    destination_service_name: 'destination.service.name | "unknown"'
    destination_service_namespace: 'destination.service.namespace | "unknown"'
    connection_security_policy: 'conditional((context.reporter.kind | "inbound") == "outbound", "unknown", conditional(connection.mtls | false, "mutual_tls", "none"))'
  monitored_resource_type: '"UNSPECIFIED"'
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata:
  name: tcpbytereceived
  namespace: istio-system
spec:
  value: 'connection.received.bytes | 0'
  dimensions:
    reporter: 'conditional((context.reporter.kind | "inbound") == "outbound", "source", "destination")'
    source_app: 'source.labels["app"] | "unknown"'
    source_principal: 'source.principal | "unknown"'
    source_workload: 'source.workload.name | "unknown"'
    source_workload_namespace: 'source.workload.namespace | "unknown"'
    source_version: 'source.labels["version"] | "unknown"'
    destination_app: 'destination.labels["app"] | "unknown"'
    destination_principal: 'destination.principal | "unknown"'
    destination_workload: 'destination.workload.name | "unknown"'
    destination_workload_namespace: 'destination.workload.namespace | "unknown"'
    destination_version: 'destination.labels["version"] | "unknown"'
    destination_service: 'destination.service.name | "unknown"'
    destination_service_name: 'destination.service.name | "unknown"'
    destination_service_namespace: 'destination.service.namespace | "unknown"'
    connection_security_policy: 'conditional((context.reporter.kind | "inbound") == "outbound", "unknown", conditional(connection.mtls | false, "mutual_tls", "none"))'
  monitored_resource_type: '"UNSPECIFIED"'
---
apiVersion: config.istio.io/v1alpha2
kind: prometheus
metadata:
  name: handler
  namespace: istio-system
spec:
  metrics:
  - name: requests_total
    instance_name: requestcount.metric.istio-system
    kind: COUNTER
    label_names:
    - reporter
    - source_app
    - source_principal
    - source_workload
    - source_workload_namespace
    - source_version
    - destination_app
    - destination_principal
    - destination_workload
    - destination_workload_namespace
    - destination_version
    - destination_service
    - destination_service_name
    - destination_service_namespace
    - request_protocol
    - response_code
    - connection_security_policy
  - name: request_duration_seconds
    instance_name: requestduration.metric.istio-system
    kind: DISTRIBUTION
    label_names:
    - reporter
    - source_app
    - source_principal
    - source_workload
    - source_workload_namespace
    - source_version
    - destination_app
    - destination_principal
    - destination_workload
    - destination_workload_namespace
    - destination_version
    - destination_service
    - destination_service_name
    - destination_service_namespace
    - request_protocol
    - response_code
    - connection_security_policy
    buckets:
      explicit_buckets:
        bounds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
  - name: request_bytes
    instance_name: requestsize.metric.istio-system
    kind: DISTRIBUTION
    label_names:
    - reporter
    - source_app
    - source_principal
    - source_workload
    - source_workload_namespace
    - source_version
    - destination_app
    - destination_principal
    - destination_workload
    - destination_workload_namespace
    - destination_version
    - destination_service
    - destination_service_name
    - destination_service_namespace
    - request_protocol
    - response_code
    - connection_security_policy
    buckets:
      exponentialBuckets:
        numFiniteBuckets: 8
        scale: 1
        growthFactor: 10
  - name: response_bytes
    instance_name: responsesize.metric.istio-system
    kind: DISTRIBUTION
    label_names:
    - reporter
    - source_app
    - source_principal
    - source_workload
    - source_workload_namespace
    - source_version
    - destination_app
    - destination_principal
    - destination_workload
    - destination_workload_namespace
    - destination_version
    - destination_service
    - destination_service_name
    - destination_service_namespace
    - request_protocol
    - response_code
    - connection_security_policy
    buckets:
      exponentialBuckets:
        numFiniteBuckets: 8
        scale: 1
        growthFactor: 10
  - name: tcp_sent_bytes_total
    instance_name: tcpbytesent.metric.istio-system
    kind: COUNTER
    label_names:
    - reporter
    - source_app
    - source_principal
    - source_workload
    - source_workload_namespace
    - source_version
    - destination_app
    - destination_principal
    - destination_workload
    - destination_workload_namespace
    - destination_version
    - destination_service
    - destination_service_name
    - destination_service_namespace
    - connection_security_policy
  - name: tcp_received_bytes_total
    instance_name: tcpbytereceived.metric.istio-system
    kind: COUNTER
    label_names:
    - reporter
    - source_app
    - source_principal
    - source_workload
    - source_workload_namespace
    - source_version
    - destination_app
    - destination_principal
    - destination_workload
    - destination_workload_namespace
    - destination_version
    - destination_service
    - destination_service_name
    - destination_service_namespace
    - connection_security_policy
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: promhttp
  namespace: istio-system
spec:
  match: 'context.protocol == "http" || context.protocol == "grpc"'
  actions:
  - handler: handler.prometheus
    instances:
    - requestcount.metric
    - requestduration.metric
    - requestsize.metric
    - responsesize.metric
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: promtcp
  namespace: istio-system
spec:
  match: 'context.protocol == "tcp"'
  actions:
  - handler: handler.prometheus
    instances:
    - tcpbytesent.metric
    - tcpbytereceived.metric
`;
