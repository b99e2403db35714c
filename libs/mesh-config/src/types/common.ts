/** istio.networking.v1alpha3.PortSelector. */
export interface PortSelector {
  number?: number;
  /** 1.0 form only (`port.name`); later removed. */
  name?: string;
}
