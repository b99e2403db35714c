import type { CheckContext } from './kinds';
import { issue } from './schema';
import {
  arr,
  checkDnsLabel,
  checkExportTo,
  checkHost,
  checkLabels,
  invalid,
  isCidrOrIp,
  isIp,
  isObj,
  missing,
  strs,
  type Obj,
} from './check-util';
import type { ConfigObject } from './types/object';

/**
 * Semantic checks for DestinationRule, Gateway, ServiceEntry and Sidecar,
 * after normalization ([I10] `pilot/pkg/model/validation.go`, [IH] `pkg/config/validation`).
 */

function checkClientTls(ctx: CheckContext, path: string, tls: unknown): void {
  if (!isObj(tls) || tls['mode'] !== 'MUTUAL' || tls['credentialName'] !== undefined) return;
  if (tls['clientCertificate'] === undefined) missing(ctx, `${path}.clientCertificate`);
  if (tls['privateKey'] === undefined) missing(ctx, `${path}.privateKey`);
}

function checkTrafficPolicy(ctx: CheckContext, path: string, tp: unknown): void {
  if (!isObj(tp)) return;
  checkClientTls(ctx, `${path}.tls`, tp['tls']);
  const seen = new Set<number>();
  arr(tp['portLevelSettings']).forEach((pl, i) => {
    const p = `${path}.portLevelSettings[${i}]`;
    const port = pl['port'];
    const n = isObj(port) ? port['number'] : undefined;
    if (n === undefined) missing(ctx, `${p}.port.number`);
    else if (typeof n === 'number') {
      if (seen.has(n)) invalid(ctx, `${p}.port.number`, `duplicate port ${n} in portLevelSettings`);
      seen.add(n);
    }
    checkClientTls(ctx, `${p}.tls`, pl['tls']);
  });
}

export function checkDestinationRule(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  const spec = obj.spec;
  if (typeof spec['host'] === 'string') checkHost(ctx, 'spec.host', spec['host']);
  checkExportTo(ctx, 'spec.exportTo', spec['exportTo']);
  checkTrafficPolicy(ctx, 'spec.trafficPolicy', spec['trafficPolicy']);
  const seen = new Set<string>();
  arr(spec['subsets']).forEach((s, i) => {
    const p = `spec.subsets[${i}]`;
    const name = s['name'];
    if (typeof name === 'string') {
      checkDnsLabel(ctx, `${p}.name`, name, 'subset name');
      if (seen.has(name)) invalid(ctx, `${p}.name`, `duplicate subset ${name}`);
      seen.add(name);
    }
    checkLabels(ctx, `${p}.labels`, s['labels']);
    checkTrafficPolicy(ctx, `${p}.trafficPolicy`, s['trafficPolicy']);
  });
}

export function checkGateway(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  const servers = arr(obj.spec['servers']);
  if (obj.spec['servers'] !== undefined && servers.length === 0) {
    invalid(ctx, 'spec.servers', 'a gateway needs at least one server');
  }
  checkLabels(ctx, 'spec.selector', obj.spec['selector']);
  const portNames = new Map<string, number>();
  servers.forEach((server, i) => {
    const p = `spec.servers[${i}]`;
    strs(server['hosts']).forEach((h, j) => {
      const host = h.includes('/') ? h.slice(h.indexOf('/') + 1) : h;
      if (host !== '*' && !host.startsWith('*') && !host.includes('.')) {
        ctx.error(
          issue(`${p}.hosts[${j}]`, 'MESH_CONFIG_ERR_INVALID_HOST', {
            host: JSON.stringify(h),
            detail: 'short names (non FQDN) are not allowed in gateway server hosts',
          }),
        );
      } else checkHost(ctx, `${p}.hosts[${j}]`, host);
    });
    const port = isObj(server['port']) ? server['port'] : undefined;
    const protocol = port?.['protocol'];
    const name = port?.['name'];
    if (port && name === undefined) missing(ctx, `${p}.port.name`);
    if (typeof name === 'string' && typeof port?.['number'] === 'number') {
      const prev = portNames.get(name);
      if (prev !== undefined && prev !== port['number']) {
        invalid(ctx, `${p}.port.name`, `port name ${name} is used for ports ${prev} and ${port['number']}`);
      }
      portNames.set(name, port['number']);
    }
    const tls = server['tls'];
    if ((protocol === 'HTTPS' || protocol === 'TLS') && !isObj(tls)) missing(ctx, `${p}.tls`);
    if (isObj(tls) && (tls['mode'] === 'SIMPLE' || tls['mode'] === 'MUTUAL') && protocol !== 'HTTP') {
      const byName = tls['credentialName'] !== undefined || tls['credentialNames'] !== undefined;
      const byList = tls['tlsCertificates'] !== undefined;
      if (!byName && !byList) {
        if (tls['serverCertificate'] === undefined) missing(ctx, `${p}.tls.serverCertificate`);
        if (tls['privateKey'] === undefined) missing(ctx, `${p}.tls.privateKey`);
        if (tls['mode'] === 'MUTUAL' && tls['caCertificates'] === undefined) missing(ctx, `${p}.tls.caCertificates`);
      }
    }
  });
}

export function checkServiceEntry(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  const spec = obj.spec;
  const hosts = strs(spec['hosts']);
  hosts.forEach((h, i) => {
    if (h === '*') invalid(ctx, `spec.hosts[${i}]`, 'host * is not allowed in a ServiceEntry');
    else checkHost(ctx, `spec.hosts[${i}]`, h);
  });
  if (spec['hosts'] !== undefined && hosts.length === 0) missing(ctx, 'spec.hosts');
  checkExportTo(ctx, 'spec.exportTo', spec['exportTo']);
  strs(spec['addresses']).forEach((a, i) => {
    if (!isCidrOrIp(a)) invalid(ctx, `spec.addresses[${i}]`, `${JSON.stringify(a)} is not an IP address or CIDR`);
  });
  const numbers = new Set<number>();
  const names = new Set<string>();
  arr(spec['ports']).forEach((port, i) => {
    const n = port['number'];
    const name = port['name'];
    if (typeof n === 'number' && numbers.has(n)) invalid(ctx, `spec.ports[${i}].number`, `duplicate port ${n}`);
    if (typeof n === 'number') numbers.add(n);
    if (typeof name === 'string') {
      checkDnsLabel(ctx, `spec.ports[${i}].name`, name, 'port name');
      if (names.has(name)) invalid(ctx, `spec.ports[${i}].name`, `duplicate port name ${name}`);
      names.add(name);
    }
  });
  const endpoints = arr(spec['endpoints']);
  if (spec['resolution'] === 'STATIC' && endpoints.length === 0 && spec['workloadSelector'] === undefined) {
    invalid(ctx, 'spec.endpoints', 'endpoints are required for STATIC resolution');
  }
  endpoints.forEach((e, i) => {
    const address = e['address'];
    if (
      spec['resolution'] === 'STATIC' &&
      typeof address === 'string' &&
      !isIp(address) &&
      !address.startsWith('unix://')
    ) {
      invalid(
        ctx,
        `spec.endpoints[${i}].address`,
        `${JSON.stringify(address)} is not an IP address (resolution STATIC)`,
      );
    }
    if (isObj(e['ports'])) {
      for (const portName of Object.keys(e['ports'])) {
        if (!names.has(portName)) {
          invalid(ctx, `spec.endpoints[${i}].ports.${portName}`, `no service port is named ${portName}`);
        }
      }
    }
    checkLabels(ctx, `spec.endpoints[${i}].labels`, e['labels']);
  });
}

export function checkSidecar(obj: ConfigObject<Obj>, ctx: CheckContext): void {
  if (['egress', 'ingress', 'outboundTrafficPolicy', 'inboundConnectionPool'].every((f) => obj.spec[f] === undefined)) {
    invalid(ctx, 'spec', 'sidecar: empty configuration provided');
  }
  arr(obj.spec['egress']).forEach((e, i) => {
    strs(e['hosts']).forEach((h, j) => {
      if (!h.includes('/')) {
        ctx.error(
          issue(`spec.egress[${i}].hosts[${j}]`, 'MESH_CONFIG_ERR_INVALID_HOST', {
            host: JSON.stringify(h),
            detail: 'egress hosts must be written namespace/dnsName',
          }),
        );
      }
    });
  });
  const selector = obj.spec['workloadSelector'];
  if (isObj(selector)) checkLabels(ctx, 'spec.workloadSelector.labels', selector['labels']);
}
