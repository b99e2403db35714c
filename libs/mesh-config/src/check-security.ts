import type { CheckContext } from './kinds';
import { issue } from './schema';
import { arr, invalid, isCidrOrIp, isObj, missing, strs, type Obj } from './check-util';
import type { ConfigObject } from './types/object';

/** Semantic checks for the security kinds ([IH] `pkg/config/validation/validation.go`). */

/** Condition keys AuthorizationPolicy accepts (Istio `ValidateAttribute`); `[...]` ones take a map key. */
const PLAIN_KEYS = [
  'source.ip',
  'remote.ip',
  'source.namespace',
  'source.principal',
  'request.auth.principal',
  'request.auth.audiences',
  'request.auth.presenter',
  'destination.ip',
  'destination.port',
  'connection.sni',
];
const MAP_KEYS = ['request.headers', 'request.auth.claims', 'experimental.envoy.filters.'];

function checkCondition(ctx: CheckContext, path: string, c: Obj): void {
  const key = c['key'];
  if (typeof key !== 'string') return;
  const values = [...strs(c['values']), ...strs(c['notValues'])];
  if (!Array.isArray(c['values']) && !Array.isArray(c['notValues'])) {
    missing(ctx, `${path}.values`);
  }
  if (PLAIN_KEYS.includes(key)) {
    if (key.endsWith('.ip')) {
      values.forEach((v) => {
        if (!isCidrOrIp(v)) invalid(ctx, `${path}.values`, `${JSON.stringify(v)} is not an IP address or CIDR`);
      });
    }
    if (key === 'destination.port') values.forEach((v) => checkPortString(ctx, `${path}.values`, v));
    return;
  }
  const prefix = MAP_KEYS.find((p) => key.startsWith(p));
  if (!prefix) {
    invalid(ctx, `${path}.key`, `unknown attribute ${key}`);
    return;
  }
  if (prefix !== 'experimental.envoy.filters.' && !/^[^[\]]+\[[^\]]+\]$/.test(key)) {
    invalid(ctx, `${path}.key`, `${key} must be written ${prefix}[name]`);
  }
}

function checkPortString(ctx: CheckContext, path: string, v: string): void {
  if (!/^\d+$/.test(v) || Number(v) > 65535) invalid(ctx, path, `${JSON.stringify(v)} is not a port number`);
}

function checkIpList(ctx: CheckContext, path: string, v: unknown): void {
  strs(v).forEach((ip, i) => {
    if (!isCidrOrIp(ip)) invalid(ctx, `${path}[${i}]`, `${JSON.stringify(ip)} is not an IP address or CIDR`);
  });
}

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
  if (spec['action'] === 'DENY' && spec['rules'] === undefined) {
    invalid(ctx, 'spec.rules', 'a DENY policy without rules has no effect');
  }
  arr(spec['rules']).forEach((rule, i) => {
    const p = `spec.rules[${i}]`;
    for (const [field, inner] of [
      ['from', 'source'],
      ['to', 'operation'],
    ] as const) {
      if (Array.isArray(rule[field]) && (rule[field] as unknown[]).length === 0) {
        invalid(ctx, `${p}.${field}`, `${field} must not be empty`);
      }
      arr(rule[field]).forEach((entry, j) => {
        const body = entry[inner];
        if (isObj(body)) {
          const lists = Object.values(body).filter((v) => Array.isArray(v) && v.length > 0);
          if (lists.length === 0) invalid(ctx, `${p}.${field}[${j}].${inner}`, `${field}.${inner} must not be empty`);
          for (const [k, v] of Object.entries(body)) {
            strs(v).forEach((x, n) => {
              if (x === '') invalid(ctx, `${p}.${field}[${j}].${inner}.${k}[${n}]`, 'empty value is not allowed');
            });
          }
        }
      });
    }
    arr(rule['when']).forEach((c, j) => checkCondition(ctx, `${p}.when[${j}]`, c));
    arr(rule['from']).forEach((f, j) => {
      const src = f['source'];
      if (!isObj(src)) return;
      for (const field of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks']) {
        checkIpList(ctx, `${p}.from[${j}].source.${field}`, src[field]);
      }
    });
    arr(rule['to']).forEach((t, j) => {
      const op = t['operation'];
      if (!isObj(op)) return;
      for (const field of ['ports', 'notPorts']) {
        strs(op[field]).forEach((v, k) => checkPortString(ctx, `${p}.to[${j}].operation.${field}[${k}]`, v));
      }
    });
  });
}

export function checkPeerAuthentication(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  const ports = obj.spec['portLevelMtls'];
  if (!isObj(ports)) return;
  const selector = obj.spec['selector'];
  const labels = isObj(selector) ? selector['matchLabels'] : undefined;
  if (!isObj(labels) || Object.keys(labels).length === 0) {
    invalid(ctx, 'spec.portLevelMtls', 'mesh/namespace peer authentication cannot have port level mTLS');
  }
  if (Object.keys(ports).length === 0) {
    invalid(ctx, 'spec.portLevelMtls', 'port level mTLS, if defined, must have at least one element');
  }
  for (const port of Object.keys(ports)) {
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      invalid(ctx, `spec.portLevelMtls.${port}`, `${JSON.stringify(port)} is not a port number`);
    }
  }
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
