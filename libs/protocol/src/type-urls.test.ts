import { findType, TypeUrl, typeNameOf, typeUrlOf } from './index';

describe('TypeUrl', () => {
  it.each(Object.entries(TypeUrl))('%s names a loaded message type', (_name, url) => {
    expect(url.startsWith('type.googleapis.com/')).toBe(true);
    const type = findType(url);
    expect(type?.fullName).toBe(`.${typeNameOf(url)}`);
  });

  it('converts between full names and type URLs', () => {
    expect(typeUrlOf('envoy.config.listener.v3.Listener')).toBe(TypeUrl.LISTENER);
    expect(typeUrlOf('.envoy.config.listener.v3.Listener')).toBe(TypeUrl.LISTENER);
    expect(typeNameOf(TypeUrl.ENDPOINT)).toBe('envoy.config.endpoint.v3.ClusterLoadAssignment');
    expect(typeNameOf('envoy.config.endpoint.v3.ClusterLoadAssignment')).toBe(
      'envoy.config.endpoint.v3.ClusterLoadAssignment',
    );
    expect(findType('type.googleapis.com/envoy.config.listener.v3.Nope')).toBeUndefined();
  });
});
