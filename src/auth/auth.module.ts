import { Module } from '@nestjs/common';
import { ApiKeyMiddleware } from './api-key.middleware';
import { ApiKeyStore } from './api-key.store';

/** API keys → principals (tenants) for /mcp. Apply ApiKeyMiddleware to the routes it guards. */
@Module({ providers: [ApiKeyStore, ApiKeyMiddleware], exports: [ApiKeyStore, ApiKeyMiddleware] })
export class AuthModule {}

export { ApiKeyStore, parseApiKeys } from './api-key.store';
export { ApiKeyMiddleware } from './api-key.middleware';
export { ANONYMOUS, principalOf, setPrincipal } from './principal';
