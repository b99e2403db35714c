import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { decode, encode, fromYaml, packAny, toJson, TypeUrl, typeNameOf, unpackAny, type HttpRbac } from './index';

const fixture = (name: string) => readFileSync(path.join(__dirname, '__fixtures__', name), 'utf8');

// Extension configs as Envoy's docs and Istio write them, given as a top-level Any ("@type").
describe('extension configs round-trip as Any', () => {
  it.each([
    ['RBAC http filter', 'rbac.yaml'],
    ['JWT authentication', 'jwt-authn.yaml'],
    ['DownstreamTlsContext', 'downstream-tls.yaml'],
    ['TcpProxy with weighted clusters and a file access log', 'tcp-proxy.yaml'],
  ])('%s', (_title, file) => {
    const text = fixture(file);
    const obj = fromYaml<Record<string, unknown>>('google.protobuf.Any', text);
    const url = obj['@type'] as string;
    const any = packAny(url, obj);
    const back = unpackAny(any);
    expect(back).toEqual(obj);
    expect(toJson('google.protobuf.Any', back)).toEqual(parse(text));
  });

  it('RBAC policies come out as a map of typed principals/permissions', () => {
    const rbac = fromYaml<HttpRbac & { '@type': string }>('google.protobuf.Any', fixture('rbac.yaml'));
    const admin = rbac.rules?.policies?.['service-admin'];
    expect(admin?.principals[0].authenticated?.principal_name?.exact).toBe(
      'spiffe://cluster.local/ns/default/sa/admin',
    );
    expect(admin?.principals[1].source_ip).toEqual({ address_prefix: '10.0.0.0', prefix_len: { value: 8 } });
    expect(rbac.rules?.action).toBe('ALLOW');
  });
});

describe('more resources round-trip', () => {
  it.each([
    ['Listener with api_listener (proxyless gRPC)', TypeUrl.LISTENER, 'api-listener.yaml'],
    ['Secret', TypeUrl.SECRET, 'secret.yaml'],
  ])('%s', (_title, url, file) => {
    const text = fixture(file);
    const typeName = typeNameOf(url);
    const obj = fromYaml(typeName, text);
    const back = decode(typeName, encode(typeName, obj));
    expect(back).toEqual(obj);
    expect(toJson(typeName, back)).toEqual(parse(text));
  });
});
