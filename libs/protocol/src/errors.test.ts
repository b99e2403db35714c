import * as path from 'node:path';
import { isMeshError, renderErrorsDoc, syncDocSection, type MeshError } from '@tsmesh/core';
import { fromJson, fromYaml, protocolErrors, TypeUrl, typeNameOf } from './index';

const LISTENER = typeNameOf(TypeUrl.LISTENER);
const CLUSTER = typeNameOf(TypeUrl.CLUSTER);

function caught(fn: () => unknown): MeshError {
  try {
    fn();
  } catch (e) {
    if (isMeshError(e)) return e;
    throw e;
  }
  throw new Error('expected a MeshError');
}

const hcmListener = (typedConfig: Record<string, unknown>) => ({
  name: 'l',
  filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: typedConfig }] }],
});

describe('validation errors name the field path', () => {
  it('unknown field inside a typed_config', () => {
    const e = caught(() =>
      fromJson(
        LISTENER,
        hcmListener({
          '@type': TypeUrl.HTTP_CONNECTION_MANAGER,
          stat_prefix: 'in',
          rds: { route_config_name2: 'x', config_source: { ads: {} } },
        }),
      ),
    );
    expect(e.code).toBe('PROTOCOL_ERR_INVALID_MESSAGE');
    expect(e.httpStatus).toBe(400);
    expect(e.fieldErrors).toEqual([
      {
        path: 'filter_chains[0].filters[0].typed_config.rds.route_config_name2',
        message: 'unknown field (did you mean "route_config_name"?)',
      },
    ]);
    expect(e.message).toContain('filter_chains[0].filters[0].typed_config.rds.route_config_name2: unknown field');
    // no hint when nothing is close
    expect(caught(() => fromJson(CLUSTER, { name: 'c', zzzzzz: 1 })).fieldErrors).toEqual([
      { path: 'zzzzzz', message: 'unknown field' },
    ]);
  });

  it('wrong @type', () => {
    const e = caught(() => fromJson(LISTENER, hcmListener({ '@type': 'type.googleapis.com/foo', stat_prefix: 'x' })));
    expect(e.fieldErrors).toEqual([
      { path: 'filter_chains[0].filters[0].typed_config.@type', message: 'unknown type type.googleapis.com/foo' },
    ]);
  });

  it('@type without the type URL prefix', () => {
    const e = caught(() =>
      fromJson(LISTENER, hcmListener({ '@type': 'envoy.extensions.filters.http.router.v3.Router' })),
    );
    expect(e.fieldErrors[0]).toEqual({
      path: 'filter_chains[0].filters[0].typed_config.@type',
      message:
        'expected a type URL like type.googleapis.com/envoy.extensions.filters.http.router.v3.Router, got "envoy.extensions.filters.http.router.v3.Router"',
    });
  });

  it('missing @type', () => {
    const e = caught(() => fromJson(LISTENER, hcmListener({ stat_prefix: 'x' })));
    expect(e.fieldErrors[0]).toEqual({
      path: 'filter_chains[0].filters[0].typed_config.@type',
      message: 'missing "@type"',
    });
  });

  it('wrong value types, bad duration, bad enum — all collected', () => {
    const e = caught(() =>
      fromYaml(
        CLUSTER,
        [
          'name: 42',
          'connect_timeout: 5 seconds',
          'lb_policy: FASTEST',
          'circuit_breakers:',
          '  thresholds:',
          '  - max_requests: many',
          'load_assignment:',
          '  cluster_name: c',
          '  endpoints: {}',
        ].join('\n'),
      ),
    );
    expect(e.fieldErrors.map((f) => f.path)).toEqual([
      'name',
      'connect_timeout',
      'lb_policy',
      'circuit_breakers.thresholds[0].max_requests',
      'load_assignment.endpoints',
    ]);
    expect(e.fieldErrors[0].message).toBe('expected a string, got number 42 (line 1)');
    expect(e.fieldErrors[1].message).toBe('expected a duration like "1s" or "0.25s", got "5 seconds" (line 2)');
    expect(e.fieldErrors[2].message).toMatch(
      /^unknown value "FASTEST" for enum LbPolicy; expected one of ROUND_ROBIN.*\(line 3\)$/,
    );
    expect(e.fieldErrors[3].message).toBe('expected an integer (uint32), got "many" (line 6)');
    expect(e.fieldErrors[4].message).toBe('expected a list, got an object (line 9)');
  });

  it('oneof conflicts and protoc-gen-validate rules (required, min_len, bounds)', () => {
    const e = caught(() =>
      fromJson(LISTENER, {
        name: 'l',
        address: { socket_address: { address: '0.0.0.0', port_value: 70000, named_port: 'http' } },
        filter_chains: [
          {
            filters: [
              {
                name: 'hcm',
                typed_config: {
                  '@type': TypeUrl.HTTP_CONNECTION_MANAGER,
                  rds: { route_config_name: 'r', config_source: { ads: {} } },
                },
              },
            ],
          },
        ],
      }),
    );
    expect(e.fieldErrors).toEqual([
      {
        path: 'address.socket_address.named_port',
        message: 'only one of port_value, named_port may be set (port_value is set too)',
      },
      { path: 'address.socket_address.port_value', message: 'must be at most 65535' },
      { path: 'filter_chains[0].filters[0].typed_config.stat_prefix', message: 'is required (must not be empty)' },
    ]);
  });

  it('YAML errors point at the line, camelCase keys and missing fields included', () => {
    const e = caught(() =>
      fromYaml(
        LISTENER,
        [
          'name: l',
          'filterChains:',
          '- filters:',
          '  - name: hcm',
          '    typedConfig:',
          '      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          '      rds: {route_config_name: r, config_source: {ads: {}}}',
          '      statPrefix2: x',
        ].join('\n'),
      ),
    );
    expect(e.fieldErrors).toEqual([
      {
        path: 'filter_chains[0].filters[0].typed_config.statPrefix2',
        message: 'unknown field (did you mean "stat_prefix"?) (line 8)',
      },
      {
        path: 'filter_chains[0].filters[0].typed_config.stat_prefix',
        message: 'is required (must not be empty) (line 6)',
      },
    ]);
  });

  it('a path prefix is prepended and YAML syntax errors are coded', () => {
    const e = caught(() => fromJson(CLUSTER, { name: 'c', bogus: 1 }, 'resources[3]'));
    expect(e.fieldErrors[0].path).toBe('resources[3].bogus');
    expect(caught(() => fromYaml(CLUSTER, 'name: [unclosed')).code).toBe('PROTOCOL_ERR_INVALID_YAML');
    expect(caught(() => fromJson(CLUSTER, [])).fieldErrors[0].message).toMatch(/expected an object/);
    expect(caught(() => fromJson('envoy.Nope', {})).code).toBe('PROTOCOL_ERR_UNKNOWN_TYPE');
  });
});

describe('docs/errors.md', () => {
  it('has the protocol catalogue in step', () => {
    const file = path.join(__dirname, '../../../docs/errors.md');
    expect(syncDocSection(file, renderErrorsDoc(protocolErrors))).toBeNull();
  });
});
