/**
 * Wire form of Istio's `istio.v1.auth.IstioCertificateService/CreateCertificate`
 * (istio/api security/v1alpha1/ca.proto; protos/security/v1alpha1/ca.proto here):
 * request `{csr = 1 (string), validity_duration = 3 (int64 s), metadata = 4 (Struct)}`,
 * response `{cert_chain = 1 (repeated string)}`. The two messages are tiny, so
 * they are coded by hand: no proto file to locate at run time, and a strict
 * decoder for a port that faces unauthenticated callers. `metadata` is skipped.
 */

export interface CertificateRequest {
  csr: string;
  /** Seconds; 0 = CA default. */
  validityDuration: number;
}

export interface CertificateResponse {
  certChain: string[];
}

export const CA_SERVICE_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';
const MAX_MESSAGE = 64 * 1024;

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}

function field(no: number, wire: number): Buffer {
  return varint((no << 3) | wire);
}

function str(no: number, s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([field(no, 2), varint(b.length), b]);
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
    }
    throw new Error('varint too long');
  }
  bytes(): Buffer {
    const len = Number(this.varint());
    if (len < 0 || this.pos + len > this.buf.length) throw new Error('truncated field');
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.fixed(8);
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.fixed(4);
    else throw new Error(`unsupported wire type ${wire}`);
  }
  private fixed(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('truncated field');
    this.pos += n;
  }
}

export function encodeCertificateRequest(r: CertificateRequest): Buffer {
  const parts = [str(1, r.csr)];
  if (r.validityDuration) parts.push(field(3, 0), varint(r.validityDuration));
  return Buffer.concat(parts);
}

/** Strict decoder; throws on malformed or oversized input. */
export function decodeCertificateRequest(buf: Buffer): CertificateRequest {
  if (buf.length > MAX_MESSAGE) throw new Error('request larger than 64 KiB');
  const r = new Reader(buf);
  const out: CertificateRequest = { csr: '', validityDuration: 0 };
  while (!r.done()) {
    const key = Number(r.varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (no === 1 && wire === 2) out.csr = r.bytes().toString('utf8');
    else if (no === 3 && wire === 0) out.validityDuration = Number(BigInt.asIntN(64, r.varint()));
    else r.skip(wire);
  }
  return out;
}

export function encodeCertificateResponse(r: CertificateResponse): Buffer {
  return Buffer.concat(r.certChain.map((c) => str(1, c)));
}

export function decodeCertificateResponse(buf: Buffer): CertificateResponse {
  const r = new Reader(buf);
  const out: CertificateResponse = { certChain: [] };
  while (!r.done()) {
    const key = Number(r.varint());
    if (key >>> 3 === 1 && (key & 7) === 2) out.certChain.push(r.bytes().toString('utf8'));
    else r.skip(key & 7);
  }
  return out;
}

/**
 * A grpc-js `ServiceDefinition` for the CA service (pass to `server.addService`
 * or `makeGenericClientConstructor`).
 */
export function caServiceDefinition() {
  return {
    CreateCertificate: {
      path: CA_SERVICE_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: encodeCertificateRequest,
      requestDeserialize: decodeCertificateRequest,
      responseSerialize: encodeCertificateResponse,
      responseDeserialize: decodeCertificateResponse,
      originalName: 'createCertificate',
    },
  } as const;
}
