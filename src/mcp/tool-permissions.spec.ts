import { OPERATOR_PERMISSIONS, PermissionDeniedError, TENANT_PERMISSIONS, type Identity } from '../auth/auth.module';
import { checkPermission, requiredPermission, TOOL_PERMISSIONS } from './tool-permissions';

const who = (permissions: string[], via: Identity['via'] = 'oauth'): Identity => ({ principal: 'alice', via, permissions: new Set(permissions) });

describe('tool permissions', () => {
  it('operator arguments need sessions:admin only when they reach beyond the caller: another principal, or all of them', () => {
    expect(requiredPermission('list_sessions', {}, 'alice')).toEqual({ anyOf: ['computers:use', 'sessions:admin'], what: 'list_sessions' });
    expect(requiredPermission('list_sessions', { principal: 'alice', all_principals: false }, 'alice')).toEqual({ anyOf: ['computers:use', 'sessions:admin'], what: 'list_sessions' });
    expect(requiredPermission('list_sessions', { all_principals: true }, 'alice')).toEqual({ anyOf: ['sessions:admin'], what: 'list_sessions with all_principals' });
    expect(requiredPermission('cleanup_session', { session_id: 's', principal: 'bob' }, 'alice')).toEqual({ anyOf: ['sessions:admin'], what: 'cleanup_session with principal' });
    // A tool without operator arguments takes its own permission only.
    expect(requiredPermission('screenshot_cua', { principal: 'bob' }, 'alice')).toEqual({ anyOf: ['computers:use'], what: 'screenshot_cua' });
  });

  it('refuses with PERMISSION_DENIED naming the permission, and refuses a tool missing from the table to everyone', () => {
    expect(() => checkPermission('run_cua_task', { task: 'x' }, who(['computers:use']))).toThrow(PermissionDeniedError);
    expect(() => checkPermission('run_cua_task', { task: 'x' }, who(['computers:use']))).toThrow(/^run_cua_task needs the permission agent:run/);
    expect(() => checkPermission('run_cua_task', { task: 'x' }, who(['agent:run']))).not.toThrow();
    expect(() => checkPermission('list_sessions', {}, who(['sessions:admin']))).not.toThrow();
    expect(() => checkPermission('new_tool', {}, { ...who([...OPERATOR_PERMISSIONS]) })).toThrow(/new_tool has no permission in TOOL_PERMISSIONS/);
  });

  it('a tenant (API key, anonymous mode, stdio) may call every tool with its own things, and no operator argument', () => {
    for (const via of ['api-key', 'anonymous', 'stdio'] as const) {
      const tenant = who([...TENANT_PERMISSIONS], via);
      for (const tool of Object.keys(TOOL_PERMISSIONS)) expect(() => checkPermission(tool, {}, tenant)).not.toThrow();
      expect(() => checkPermission('list_sessions', { all_principals: true }, tenant)).toThrow(/sessions:admin/);
    }
  });
});
