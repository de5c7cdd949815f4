export { type GatewayCertificate, selfSignedCertificate } from "./certificate";
export {
  type CredentialServer,
  type CredentialServerOptions,
  type CredentialServerStats,
  type IssuedCredentials,
  startCredentialServer,
} from "./credential-server";
export { startGateway } from "./gateway";
export type {
  Gateway,
  GatewayBackend,
  GatewayCredential,
  GatewayEngine,
  GatewayFaults,
  GatewayOptions,
  GatewayRefusal,
  GatewayStats,
  RejectReason,
} from "./gateway-options";
export { type TokenExpectations, type TokenVerdict, verifyToken } from "./token-verifier";
