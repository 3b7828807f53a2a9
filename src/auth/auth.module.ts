import { Module } from '@nestjs/common';
import { ApiKeyStore } from './api-key.store';
import { Authenticator } from './authenticator';

/** Who sends a request: API keys → principals (tenants). Transports ask the Authenticator and write its refusals. */
@Module({ providers: [ApiKeyStore, Authenticator], exports: [ApiKeyStore, Authenticator] })
export class AuthModule {}

export { ApiKeyStore, parseApiKeys } from './api-key.store';
export { Authenticator, type Authentication } from './authenticator';
export { ANONYMOUS, principalOf, setPrincipal } from './principal';
