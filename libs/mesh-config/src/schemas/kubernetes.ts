import { any, bool, int, intOrStr, list, obj, str, strList, strMap, type FieldSpec } from '../schema';

/**
 * Kubernetes kinds: the fields the mesh reads are typed and checked; other
 * fields of these large APIs are accepted as written (`open`), since the
 * Kubernetes API server already validated them.
 */
const open = (fields: Record<string, FieldSpec>, required: string[] = []) => obj(fields, { open: true, required });

const servicePort = open(
  {
    name: str(),
    port: int(1, 65535),
    targetPort: intOrStr(),
    protocol: str(),
    nodePort: int(0, 65535),
    appProtocol: str(),
  },
  ['port'],
);

export const serviceBody = obj({
  spec: open({
    ports: list(servicePort),
    selector: strMap(),
    type: str(),
    clusterIP: str(),
    clusterIPs: strList(),
    externalName: str(),
  }),
  status: any(),
});

const targetRef = open({ kind: str(), name: str(), namespace: str(), uid: str() });
const endpointPort = open({ name: str(), port: int(0, 65535), protocol: str(), appProtocol: str() }, ['port']);
const address = open({ ip: str(), hostname: str(), nodeName: str(), targetRef }, ['ip']);

export const endpointsBody = obj({
  subsets: list(open({ addresses: list(address), notReadyAddresses: list(address), ports: list(endpointPort) })),
});

export const endpointSliceBody = obj(
  {
    addressType: str(),
    endpoints: list(
      open(
        {
          addresses: strList(),
          conditions: open({ ready: bool(), serving: bool(), terminating: bool() }),
          hostname: str(),
          nodeName: str(),
          zone: str(),
          targetRef,
        },
        ['addresses'],
      ),
    ),
    ports: list(open({ name: str(), port: int(0, 65535), protocol: str(), appProtocol: str() })),
  },
  { required: ['addressType'] },
);

const container = open(
  {
    name: str(),
    image: str(),
    ports: list(open({ name: str(), containerPort: int(1, 65535), protocol: str() }, ['containerPort'])),
  },
  ['name'],
);

export const podSpec = open({
  containers: list(container),
  initContainers: list(container),
  serviceAccountName: str(),
  serviceAccount: str(),
  nodeName: str(),
});

export const podBody = obj({
  spec: podSpec,
  status: open({ phase: str(), podIP: str(), podIPs: list(open({ ip: str() })), hostIP: str() }),
});

export const namespaceBody = obj({ spec: open({}), status: any() });

/** apps/v1 workloads, kept for the injector; the pod template is checked like a Pod. */
export const workloadBody = obj({
  spec: open({
    replicas: int(0),
    selector: any(),
    template: open({ metadata: any(), spec: podSpec }),
  }),
  status: any(),
});

export const serviceAccountBody = obj({
  secrets: list(any()),
  imagePullSecrets: list(any()),
  automountServiceAccountToken: bool(),
});

export const configMapBody = obj({ data: strMap(), binaryData: strMap(), immutable: bool() });

export const secretBody = obj({ data: strMap(), stringData: strMap(), type: str(), immutable: bool() });
