import { PermissionDeniedError } from './auth.errors';

describe(PermissionDeniedError.name, () => {
  const who = (via: 'api-key' | 'oauth' | 'anonymous' | 'stdio', permissions: string[]) => ({ via, permissions: new Set(permissions) });

  it('names the missing permission and the caller\'s own permissions of this server, leaving out its other scopes and roles', () => {
    const e = new PermissionDeniedError('agent:run', 'run_cua_task', who('oauth', ['offline_access', 'computers:use', 'default-roles-acme']));
    expect(e.code).toBe('PERMISSION_DENIED');
    expect(e.message).toMatch(/^run_cua_task needs the permission agent:run, which your credentials do not grant \(yours: computers:use\)\. Ask the authorization server for an access token with the scope agent:run/);
    expect(new PermissionDeniedError('agent:run', 'run_cua_task', who('oauth', ['openid'])).message).toContain('(yours: none)');
  });

  it('says how to become an operator for the way the caller signed in', () => {
    expect(new PermissionDeniedError('sessions:admin', 'list_sessions with all_principals', who('api-key', [])).message).toMatch(/API_KEY_OPERATORS/);
    expect(new PermissionDeniedError('sessions:admin', 'list_sessions with all_principals', who('anonymous', [])).message).toMatch(/Without API keys or OAuth nobody is an operator/);
    expect(new PermissionDeniedError('sessions:admin', 'list_sessions with all_principals', who('stdio', [])).message).toMatch(/A stdio client has a tenant's permissions/);
  });
});
