// Pilot's generated sidecar listeners for proxies whose xDS node metadata carries
// `policy.istio.io/check` (Istio 1.1+): the override reaches the HTTP `mixer` filter of the
// proxy's own listeners, and the outbound HTTP listeners, cached per push, are not shared
// between a proxy with the override and one without.
import { bootstrapFromSettings, istioMetaFromEnv } from '@tsmesh/dataplane';
import { decode, encode } from '@tsmesh/protocol';
import { parseNode } from '../../model/proxy';
import { BOOKINFO_YAML, contextFrom, sidecar } from '../../testing/bookinfo';
import { generateListeners } from '../generator';
import type { Msg } from '../names';
import { PluginRegistry } from '../plugins';
import { registerBuiltinPlugins } from '../register';
import { POLICY_CHECK } from './build';

type Cfg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const HTTP_TYPE = 'istio.mixer.v1.config.client.HttpClientConfig';

/** The HTTP `mixer` filter of a listener's first chain, as the proxy decodes it. */
function mixerOf(listener: Msg | undefined): Cfg {
  expect(listener).toBeDefined();
  const hcm = ((listener as Msg)['filter_chains'] as Msg[])[0]['filters'] as Msg[];
  const httpFilters = (hcm[0]['typed_config'] as Cfg)['http_filters'] as Msg[];
  const mixer = httpFilters.find((f) => f['name'] === 'mixer');
  expect(mixer).toBeDefined();
  const { '@type': _t, ...body } = (mixer as Msg)['typed_config'] as Cfg;
  return decode(HTTP_TYPE, encode(HTTP_TYPE, body));
}

describe('policy.istio.io/check in generated sidecar listeners', () => {
  const plugins = new PluginRegistry();
  registerBuiltinPlugins(plugins);
  // a mesh that checks policy on the server side and fails closed
  const ctx = contextFrom([BOOKINFO_YAML], {
    mixerCheckServer: 'istio-policy.istio-system.svc.cluster.local:9091',
    mixerReportServer: 'istio-telemetry.istio-system.svc.cluster.local:9091',
    disablePolicyChecks: false,
    policyCheckFailOpen: false,
  });
  const reviews = (meta: Record<string, unknown> = {}) =>
    sidecar('10.1.0.21', 'reviews-v1-abc', { app: 'reviews', version: 'v1' }, 'default', meta);
  const listener = (proxy: ReturnType<typeof reviews>, name: string) =>
    generateListeners(proxy, ctx, [], plugins).find((l) => l['name'] === name);

  it('"disable" on the node: the inbound HTTP listener makes no Check calls and fails open', () => {
    const plain = mixerOf(listener(reviews(), '10.1.0.21_9080'));
    expect(plain['service_configs']['reviews.default.svc.cluster.local']['disable_check_calls']).toBeFalsy();
    expect(plain['transport']['network_fail_policy']).toEqual({ policy: 'FAIL_CLOSE' });

    const off = mixerOf(listener(reviews({ [POLICY_CHECK]: 'disable' }), '10.1.0.21_9080'));
    expect(off['service_configs']['reviews.default.svc.cluster.local']['disable_check_calls']).toBe(true);
    expect(off['transport']['network_fail_policy']).toEqual({ policy: 'FAIL_OPEN' });
  });

  it('"enable" on one node: its outbound HTTP listener checks, another proxy\'s (same push) does not', () => {
    // the annotated proxy first, so a listener cached for it would show up in the plain one
    const on = mixerOf(listener(reviews({ [POLICY_CHECK]: 'enable' }), '0.0.0.0_9080'));
    expect(on['service_configs']['default']['disable_check_calls']).toBeFalsy();
    expect(on['transport']['network_fail_policy']).toEqual({ policy: 'FAIL_CLOSE' });

    const plain = mixerOf(listener(reviews(), '0.0.0.0_9080'));
    expect(plain['service_configs']['default']['disable_check_calls']).toBe(true);

    const onAgain = mixerOf(listener(reviews({ [POLICY_CHECK]: 'allow-on-error' }), '0.0.0.0_9080'));
    expect(onAgain['service_configs']['default']['disable_check_calls']).toBeFalsy();
    expect(onAgain['transport']['network_fail_policy']).toEqual({ policy: 'FAIL_OPEN' });
  });

  it('from a pod annotation: the agent merges ISTIO_METAJSON_ANNOTATIONS into the node, Check is off', () => {
    const meta = istioMetaFromEnv({ ISTIO_METAJSON_ANNOTATIONS: '{"policy.istio.io/check":"disable"}' });
    const off = mixerOf(listener(reviews(meta), '10.1.0.21_9080'));
    expect(off['service_configs']['reviews.default.svc.cluster.local']['disable_check_calls']).toBe(true);
    expect(off['transport']['network_fail_policy']).toEqual({ policy: 'FAIL_OPEN' });

    // the whole agent path: the injector's environment → generated bootstrap node → Pilot's proxy
    const { node } = bootstrapFromSettings(
      'sidecar',
      {
        configPath: '',
        discoveryAddress: '127.0.0.1:15010',
        serviceNode: '',
        serviceCluster: 'reviews',
        ip: '10.1.0.21',
        podName: 'reviews-v1-abc',
        namespace: 'default',
        labels: [],
        adminAddress: '127.0.0.1:0',
        prometheusAddress: '',
        healthAddress: '',
        zipkinAddress: '',
        traceSampling: 1,
        accessLogFile: '',
        accessLogEncoding: 'TEXT',
        drainDuration: 1000,
      },
      {
        ISTIO_METAJSON_ANNOTATIONS: '{"policy.istio.io/check":"disable","policy.istio.io/checkRetries":"2"}',
        ISTIO_METAJSON_LABELS: '{"app":"reviews","version":"v1"}',
      },
    );
    const proxy = parseNode(node as Parameters<typeof parseNode>[0]);
    expect(proxy.labels).toEqual({ app: 'reviews', version: 'v1' });
    const fromAgent = mixerOf(listener(proxy, '10.1.0.21_9080'));
    expect(fromAgent['service_configs']['reviews.default.svc.cluster.local']['disable_check_calls']).toBe(true);
    expect(fromAgent['transport']['network_fail_policy']).toEqual({ policy: 'FAIL_OPEN', max_retry: 2 });
  });
});
