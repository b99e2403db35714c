export * from './types';
export { BaseIdentityProvider } from './base-provider';
export { CitadelIdentityProvider, type CitadelIdentityOptions, type CertificateSigner } from './citadel-provider';
export { FileIdentityProvider, type FileIdentityOptions } from './file-provider';
export { checkPeer, classifyVerifyError, HandshakeStats, type HandshakeFailure, type PeerCheck } from './handshake';
export {
  identitySettingsSpec,
  startIdentity,
  type IdentitySettings,
  type IdentityDeps,
  type StartedIdentity,
} from './from-settings';
