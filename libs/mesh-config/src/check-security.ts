import type { CheckContext } from './kinds';
import { issue } from './schema';
import type { ConfigObject } from './types/object';

/** Semantic checks for the security kinds ([IH] `pkg/config/validation/validation.go`). */
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v.filter(isObj) as Obj[]) : []);

export function checkAuthorizationPolicy(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  const spec = obj.spec;
  if (spec['action'] === 'CUSTOM' && spec['provider'] === undefined) {
    ctx.error(issue('spec.provider', 'MESH_CONFIG_ERR_MISSING_FIELD'));
  }
  if (spec['action'] !== 'CUSTOM' && spec['provider'] !== undefined) {
    ctx.error(
      issue('spec.provider', 'MESH_CONFIG_ERR_INVALID_VALUE', {
        detail: 'provider is only allowed with action CUSTOM',
      }),
    );
  }
  if (spec['selector'] !== undefined && (spec['targetRef'] !== undefined || spec['targetRefs'] !== undefined)) {
    ctx.error(
      issue('spec', 'MESH_CONFIG_ERR_INVALID_VALUE', {
        detail: 'only one of selector, targetRef, targetRefs may be set',
      }),
    );
  }
  arr(spec['rules']).forEach((rule, i) => {
    arr(rule['when']).forEach((c, j) => {
      const values = c['values'];
      const notValues = c['notValues'];
      if (!Array.isArray(values) && !Array.isArray(notValues)) {
        ctx.error(issue(`spec.rules[${i}].when[${j}].values`, 'MESH_CONFIG_ERR_MISSING_FIELD'));
      }
    });
  });
}

export function checkRequestAuthentication(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  arr(obj.spec['jwtRules']).forEach((rule, i) => {
    if (rule['jwksUri'] !== undefined && rule['jwks'] !== undefined) {
      ctx.error(
        issue(`spec.jwtRules[${i}]`, 'MESH_CONFIG_ERR_INVALID_VALUE', {
          detail: 'only one of jwksUri, jwks may be set',
        }),
      );
    }
    if (typeof rule['jwksUri'] === 'string' && !/^https?:\/\//.test(rule['jwksUri'])) {
      ctx.error(
        issue(`spec.jwtRules[${i}].jwksUri`, 'MESH_CONFIG_ERR_INVALID_VALUE', {
          detail: 'jwksUri must be an http(s) URL',
        }),
      );
    }
  });
}

export function checkAuthenticationPolicy(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  if (obj.kind === 'MeshPolicy' && obj.metadata.name !== 'default') {
    ctx.warn('metadata.name', 'a MeshPolicy is only used when it is named "default"');
  }
  if (obj.spec['principalBinding'] === 'USE_ORIGIN' && arr(obj.spec['origins']).length === 0) {
    ctx.error(issue('spec.origins', 'MESH_CONFIG_ERR_MISSING_FIELD'));
  }
}

export function checkServiceRoleBinding(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  if (obj.spec['roleRef'] === undefined && obj.spec['role'] === undefined && obj.spec['actions'] === undefined) {
    ctx.error(issue('spec.roleRef', 'MESH_CONFIG_ERR_MISSING_FIELD'));
  }
}

export function checkRbacConfig(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  if (obj.kind === 'ClusterRbacConfig' && obj.metadata.name !== 'default') {
    ctx.warn('metadata.name', 'a ClusterRbacConfig is only used when it is named "default"');
  }
  if (obj.spec['mode'] === 'ON_WITH_INCLUSION' && obj.spec['inclusion'] === undefined) {
    ctx.error(issue('spec.inclusion', 'MESH_CONFIG_ERR_MISSING_FIELD'));
  }
  if (obj.spec['mode'] === 'ON_WITH_EXCLUSION' && obj.spec['exclusion'] === undefined) {
    ctx.error(issue('spec.exclusion', 'MESH_CONFIG_ERR_MISSING_FIELD'));
  }
}
