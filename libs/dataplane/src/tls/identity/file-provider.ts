/**
 * Istio 1.0 secret mode on the proxy side: read `cert-chain.pem`, `key.pem` and
 * `root-cert.pem` from a directory (default /etc/certs, where the injector
 * mounts `istio.<sa>`), and re-read them when they change (polled on the
 * Clock; Kubernetes updates secret volumes by swapping a symlink, which
 * watchers miss). A half-written or mismatched set is ignored until it is whole.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, Logger, TimerHandle } from '@tsmesh/core';
import { inspectCertificate, loadPrivateKey, spiffeIdOf, splitPemChain } from '@tsmesh/pki';
import { BaseIdentityProvider } from './base-provider';

export interface FileIdentityOptions {
  dir: string;
  clock: Clock;
  logger: Logger;
  pollMs?: number;
}

export class FileIdentityProvider extends BaseIdentityProvider {
  private timer: TimerHandle | null = null;
  private last = '';

  constructor(private readonly o: FileIdentityOptions) {
    super();
  }

  start(): this {
    void this.poll();
    this.timer = this.o.clock.setInterval(() => void this.poll(), this.o.pollMs ?? 5000);
    return this;
  }

  stop(): void {
    this.timer?.cancel();
  }

  /** Reads the files once; installs them when they changed and are consistent. */
  async poll(): Promise<boolean> {
    let chain: string, key: string, root: string;
    try {
      [chain, key, root] = await Promise.all(
        ['cert-chain.pem', 'key.pem', 'root-cert.pem'].map((f) => readFile(join(this.o.dir, f), 'utf8')),
      );
    } catch {
      return false;
    }
    const stamp = `${chain}\n${root}\n${key.length}`;
    if (stamp === this.last) return false;
    try {
      const privateKey = loadPrivateKey(key);
      const leaf = new X509Certificate(chain);
      if (!leaf.checkPrivateKey(privateKey)) throw new Error('key.pem does not match cert-chain.pem');
      const info = inspectCertificate(leaf);
      this.last = stamp;
      this.install({
        spiffeId: spiffeIdOf(leaf) ?? '',
        privateKey,
        privateKeyPem: key,
        certChainPem: chain,
        rootCertPem: root,
        notBefore: info.notBefore,
        notAfter: info.notAfter,
        key: privateKey,
        chain: splitPemChain(chain).map((c) => c.toString()),
        root,
      });
      return true;
    } catch (e) {
      this.o.logger.warn(
        { dir: this.o.dir, err: (e as Error).message },
        'certificate files unusable; keeping the previous ones',
      );
      return false;
    }
  }
}
