import * as protobuf from 'protobufjs';
import { decode, encode, envoyRoot, lookupType, validateMessage } from './index';

type Internals = { _features: object; options?: Record<string, unknown>; _lookupCache: Record<string, unknown> };
const internals = (o: unknown) => o as Internals;

describe('envoyRoot compaction', () => {
  const cluster = () => lookupType('envoy.config.cluster.v3.Cluster');
  const listener = () => lookupType('envoy.config.listener.v3.Listener');

  it('shares equal plain data (edition features, options) between reflection objects', () => {
    const a = cluster().fields['name'];
    const b = listener().fields['name'];
    expect(internals(a)._features).toEqual(internals(b)._features);
    expect(internals(a)._features).toBe(internals(b)._features);
    // Two fields with the same PGV rule hold one options object.
    const withMinLen = [cluster(), listener(), lookupType('envoy.config.route.v3.VirtualHost')]
      .flatMap((t) => t.fieldsArray)
      .filter((f) => f.options?.['(validate.rules).string.min_len'] === 1 && Object.keys(f.options).length === 1);
    expect(withMinLen.length).toBeGreaterThan(1);
    expect(new Set(withMinLen.map((f) => f.options)).size).toBe(1);
  });

  it('empties the lookup caches and drops comments, and lookups still resolve', () => {
    const root = envoyRoot();
    let namespaces = 0;
    let cached = 0;
    const visit = (ns: protobuf.NamespaceBase) => {
      namespaces++;
      cached += Object.keys(internals(ns)._lookupCache).length;
      expect(ns.comment).toBeNull();
      for (const n of ns.nestedArray) if (n instanceof protobuf.Namespace) visit(n);
    };
    visit(root);
    expect(namespaces).toBeGreaterThan(100);
    // Only what was looked up since the load (by this test file) is cached again.
    expect(cached).toBeLessThan(namespaces);
    expect(root.lookup('envoy.config.core.v3.Address')).toBeInstanceOf(protobuf.Type);
    expect(cluster().lookup('core.v3.Address')).toBe(root.lookup('envoy.config.core.v3.Address'));
  });

  it('keeps what validation and the codec read from options', () => {
    // Cluster.name: (validate.rules).string.min_len = 1; Listener.address: oneof with (validate.required).
    expect(validateMessage('envoy.config.cluster.v3.Cluster', { name: '' }).map((e) => e.path)).toEqual(['name']);
    expect(validateMessage('envoy.config.core.v3.Address', {}).map((e) => e.path)).toEqual(['address']);
    const obj = { name: 'c', type: 'EDS', connect_timeout: { seconds: 1, nanos: 0 } };
    expect(decode('envoy.config.cluster.v3.Cluster', encode('envoy.config.cluster.v3.Cluster', obj))).toMatchObject(
      obj,
    );
  });
});

describe('on-demand files', () => {
  it('loads the admin, bootstrap and CSDS/LRS/RTDS/SRDS files on the first lookup that needs them', () => {
    jest.isolateModules(() => {
      const fresh = require('./root') as typeof import('./root');
      const cluster = fresh.findType('type.googleapis.com/envoy.config.cluster.v3.Cluster');
      const files = () => (cluster as protobuf.Type).root.files.map((f) => f.replace(/.*\/deps\/[^/]+\//, ''));
      expect(files()).toContain('envoy/config/cluster/v3/cluster.proto');
      expect(files()).not.toContain('envoy/admin/v3/config_dump.proto');
      expect(files()).not.toContain('envoy/config/bootstrap/v3/bootstrap.proto');
      // (isolateModules loads protobufjs afresh too: its classes are not the ones imported above.)
      expect(fresh.findType('envoy.admin.v3.ConfigDump')?.fullName).toBe('.envoy.admin.v3.ConfigDump');
      expect(files()).toContain('envoy/config/bootstrap/v3/bootstrap.proto');
      // Same root, same objects: what was looked up before stays valid.
      expect(fresh.findType('envoy.config.cluster.v3.Cluster')).toBe(cluster);
      expect(fresh.envoyRoot()).toBe((cluster as protobuf.Type).root);
      expect(fresh.findType('envoy.nope.v3.Missing')).toBeUndefined();
    });
  });

  it('loads the files that only declare options (PGV, annotations, descriptor.proto) with the rest', () => {
    jest.isolateModules(() => {
      const fresh = require('./root') as typeof import('./root');
      const cluster = fresh.findType('envoy.config.cluster.v3.Cluster') as protobuf.Type;
      const root = cluster.root;
      expect(root.lookup('validate.FieldRules')).toBeNull();
      expect(root.lookup('google.protobuf.FieldOptions')).toBeNull();
      expect(root.lookup('udpa.annotations.StatusAnnotation')).toBeNull();
      // The options are there all the same.
      expect(cluster.fields['name'].options).toEqual({ '(validate.rules).string.min_len': 1 });
      const rules = fresh.findType('validate.FieldRules');
      expect(rules?.fullName).toBe('.validate.FieldRules');
      expect(rules?.root).toBe(root);
      expect(fresh.findType('google.protobuf.FileDescriptorSet')?.root).toBe(root);
      // With their extensions of the descriptor options, as a root loaded at once has them.
      const fieldOptions = root.lookup('google.protobuf.FieldOptions') as protobuf.Type;
      expect(fieldOptions.fieldsArray.map((f) => f.name)).toContain('.validate.rules');
      expect(cluster.fields['name'].options).toEqual({ '(validate.rules).string.min_len': 1 });
    });
  });
});
