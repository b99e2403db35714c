import type { CheckContext } from './kinds';
import { arr, checkDnsLabel, invalid, isObj, missing, strs, type Obj } from './check-util';
import type { ConfigObject } from './types/object';

/**
 * Checks for the Istio 1.0 security kinds: `authentication.istio.io/v1alpha1`
 * Policy/MeshPolicy and `rbac.istio.io/v1alpha1` (rules and messages of
 * [I10] `pilot/pkg/model/validation.go` and 1.5 `pkg/config/validation`).
 */

const DEFAULT = 'default';

function checkJwt(ctx: CheckContext, path: string, jwt: unknown, issuers: Set<string>): void {
  if (!isObj(jwt)) return;
  const issuer = jwt['issuer'];
  if (typeof issuer === 'string') {
    if (issuers.has(issuer))
      invalid(ctx, `${path}.issuer`, `jwt with issuer ${JSON.stringify(issuer)} already defined`);
    issuers.add(issuer);
  }
  const uri = jwt['jwksUri'];
  if (typeof uri === 'string' && !/^https?:\/\/[^/]+/.test(uri)) {
    invalid(ctx, `${path}.jwksUri`, 'jwksUri must be an http(s) URL');
  }
}

export function checkAuthenticationPolicy(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  const spec = obj.spec;
  const targets = arr(spec['targets']);
  const name = obj.metadata.name;
  if (obj.kind === 'MeshPolicy') {
    if (name !== DEFAULT)
      invalid(ctx, 'metadata.name', `cluster-scoped authentication policy name must be "default", found "${name}"`);
    if (targets.length > 0) invalid(ctx, 'spec.targets', 'cluster-scoped authentication policy must not have targets');
  } else {
    if (targets.length === 0 && name !== DEFAULT) {
      invalid(
        ctx,
        'metadata.name',
        `authentication policy with no target rules must be named "default", found "${name}"`,
      );
    }
    if (targets.length > 0 && name === DEFAULT) {
      invalid(ctx, 'spec.targets', 'authentication policy with name "default" must not have any target rules');
    }
    targets.forEach((t, i) => {
      if (typeof t['name'] === 'string') checkDnsLabel(ctx, `spec.targets[${i}].name`, t['name'], 'target name');
    });
  }
  const issuers = new Set<string>();
  arr(spec['peers']).forEach((p, i) => checkJwt(ctx, `spec.peers[${i}].jwt`, p['jwt'], issuers));
  arr(spec['origins']).forEach((o, i) => checkJwt(ctx, `spec.origins[${i}].jwt`, o['jwt'], issuers));
  if (spec['principalBinding'] === 'USE_ORIGIN' && arr(spec['origins']).length === 0) missing(ctx, 'spec.origins');
}

export function checkServiceRole(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  arr(obj.spec['rules']).forEach((rule, i) => {
    const p = `spec.rules[${i}]`;
    for (const f of ['methods', 'paths', 'ports', 'hosts']) {
      const not = `not${f[0].toUpperCase()}${f.slice(1)}`;
      if (Array.isArray(rule[f]) && Array.isArray(rule[not]) && (rule[f] as unknown[]).length > 0) {
        invalid(ctx, p, `cannot have both ${f} and ${not}`);
      }
    }
    arr(rule['constraints']).forEach((c, j) => {
      if (c['key'] === 'destination.port' && (rule['ports'] !== undefined || rule['notPorts'] !== undefined)) {
        invalid(ctx, `${p}.constraints[${j}].key`, 'destination.port is already set by ports/notPorts');
      }
      if (strs(c['values']).length === 0) missing(ctx, `${p}.constraints[${j}].values`);
    });
  });
}

export function checkServiceRoleBinding(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  const spec = obj.spec;
  arr(spec['subjects']).forEach((s, i) => {
    const p = `spec.subjects[${i}]`;
    const set = Object.values(s).some((v) =>
      Array.isArray(v) ? v.length > 0 : isObj(v) ? Object.keys(v).length > 0 : v !== '',
    );
    if (!set) invalid(ctx, p, 'empty subjects are not allowed');
    for (const f of ['names', 'notNames']) {
      if (strs(s[f]).includes('*')) invalid(ctx, `${p}.${f}`, `do not use * in ${f}`);
    }
  });
  const given = ['roleRef', 'role', 'actions'].filter((f) => spec[f] !== undefined);
  if (given.length !== 1) {
    if (given.length === 0) missing(ctx, 'spec.roleRef');
    else invalid(ctx, 'spec', 'exactly one of roleRef, role or actions must be set');
  }
  const ref = spec['roleRef'];
  if (isObj(ref) && ref['kind'] !== undefined && ref['kind'] !== 'ServiceRole') {
    invalid(
      ctx,
      'spec.roleRef.kind',
      `kind set to "${String(ref['kind'])}", the only supported value is "ServiceRole"`,
    );
  }
}

export function checkRbacConfig(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  if (obj.metadata.name !== DEFAULT) {
    invalid(ctx, 'metadata.name', `${obj.kind} has invalid name ${obj.metadata.name}, name must be "default"`);
  }
  if (obj.spec['mode'] === 'ON_WITH_INCLUSION' && obj.spec['inclusion'] === undefined) {
    invalid(ctx, 'spec.inclusion', "inclusion cannot be null (use 'inclusion: {}' for none)");
  }
  if (obj.spec['mode'] === 'ON_WITH_EXCLUSION' && obj.spec['exclusion'] === undefined) {
    invalid(ctx, 'spec.exclusion', "exclusion cannot be null (use 'exclusion: {}' for none)");
  }
}
