import { Module } from '@nestjs/common';
import { AccessTokenVerifier } from './access-token.verifier';
import { ApiKeyStore } from './api-key.store';
import { Authenticator } from './authenticator';
import { ProtectedResourceController } from './protected-resource.controller';

/**
 * Who sends a request: API keys → principals (tenants), and OAuth 2.1 access tokens of one
 * authorization server (MCP authorization, OAUTH_ISSUER) → principals with permissions, with the
 * protected-resource metadata clients discover it from. Transports ask the Authenticator and write
 * its refusals.
 */
@Module({ controllers: [ProtectedResourceController], providers: [ApiKeyStore, AccessTokenVerifier, Authenticator], exports: [ApiKeyStore, Authenticator] })
export class AuthModule {}

export { ApiKeyStore, parseApiKeys } from './api-key.store';
export { Authenticator, type Authentication } from './authenticator';
export { ANONYMOUS, OPERATOR_PERMISSIONS, PERMISSIONS, TENANT_PERMISSIONS, identityOf, principalOf, setPrincipal, stdioIdentity, type AuthMethod, type Identity } from './principal';
export { PermissionDeniedError } from './auth.errors';
