import { isHttpProtocol, protocolOfPort } from './protocol';

describe('protocolOfPort', () => {
  it('follows the Istio 1.0 port-name convention', () => {
    expect(protocolOfPort({ name: 'http' })).toBe('HTTP');
    expect(protocolOfPort({ name: 'http-api' })).toBe('HTTP');
    expect(protocolOfPort({ name: 'grpc-status' })).toBe('GRPC');
    expect(protocolOfPort({ name: 'grpc-web' })).toBe('GRPC-WEB');
    expect(protocolOfPort({ name: 'HTTP2-x' })).toBe('HTTP2');
    expect(protocolOfPort({ name: 'metrics' })).toBe('TCP');
    expect(protocolOfPort({})).toBe('TCP');
  });

  it('lets appProtocol win and keeps UDP', () => {
    expect(protocolOfPort({ name: 'web', appProtocol: 'http' })).toBe('HTTP');
    expect(protocolOfPort({ name: 'http', protocol: 'UDP' })).toBe('UDP');
    expect(isHttpProtocol('grpc')).toBe(true);
    expect(isHttpProtocol('TCP')).toBe(false);
  });
});
