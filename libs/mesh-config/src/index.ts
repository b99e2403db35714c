export * from './types/object';
export * from './types/networking';
export * from './types/destination-rule';
export * from './types/security';
export * from './types/kubernetes';
export * from './types/mixer';
export * from './types/aliases';
export * from './errors';
export * from './defaults';
export * from './hosts';
export * from './regex';
export * from './protocol';
export {
  loadYaml,
  loadFile,
  loadDir,
  listConfigFiles,
  toConfigObject,
  type LoadResult,
  type LoadOptions,
} from './loader';
export { validate, validateAll, lineOf, toConfigError, type ValidateResult, type ValidateAllResult } from './validate';
export { validateDocument, type DocumentResult } from './document';
export {
  ConfigStore,
  storeKey,
  type MeshObject,
  type MeshObjectMeta,
  type StoredObject,
  type Rejection,
  type StoreChange,
  type ChangeScope,
} from './store';
export {
  applyFile,
  applyObject,
  validateMeshObject,
  type ApplyOptions,
  type ApplyOutcome,
  type ApplyFileResult,
  type RejectedInput,
  type RejectReason,
} from './store-apply';
export {
  kindRegistry,
  kindValidators,
  registerKind,
  registerKindValidator,
  lookupKind,
  isClusterScoped,
  splitApiVersion,
  type KindDef,
  type KindValidator,
  type CheckContext,
} from './kinds';
export { ensureBuiltinKinds, builtinKinds } from './builtin-kinds';
export { type FieldSpec, type Issue, type Issues, checkValue } from './schema';
export * from './mesh';
export { crdFor, istioCrds, openApiSchema, pluralOf, type JsonSchema } from './crd';
export {
  KubeWatch,
  customResources,
  kubeClient,
  loadKubeConfig,
  type KubeResource,
  type KubeWatchHandlers,
  type KubeWatchOptions,
} from './kube-watch';
