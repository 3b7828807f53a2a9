import { Setting, defineSettings, type SettingsOf, Int, Text } from '../config/settings';

/** `off`, `stdout`, or an absolute file path. */
const DESTINATION = /^(off|stdout|\/.*[^/])$/;

class AuditEnv {
  @Setting(
    'Where the audit trail goes (docs/audit.md): `off`, `stdout` (one JSON line per event beside the logs; stderr in stdio mode, where stdout carries MCP), ' +
      'or an absolute file path (created 0600, its folder 0700 if missing; rotated by size). One JSON line per tool call and per session event.',
  )
  @Text(DESTINATION, 'off, stdout, or an absolute file path such as /var/log/cua/audit.jsonl')
  AUDIT_LOG = 'off';

  @Setting('With a file: its size at which it is rotated (renamed `<file>.1`, older ones shifted to `.2` …).')
  @Int(4_096, 1_099_511_627_776)
  AUDIT_MAX_BYTES = 104_857_600;

  @Setting('With a file: how many rotated files are kept besides the current one (`<file>.1` … `<file>.N`); older ones are deleted.')
  @Int(1, 1_000)
  AUDIT_KEEP_FILES = 10;

  @Setting(
    'How many characters of free text the audit trail keeps of a call\'s arguments (a task, a command), after secrets are redacted; longer texts are cut. ' +
      '0: only their length. Typed text (`computer` `type`) is never kept.',
  )
  @Int(0, 100_000)
  AUDIT_TEXT_CHARS = 200;
}

export const AUDIT_SETTINGS = defineSettings({
  namespace: 'audit',
  title: 'Audit trail',
  docs: 'audit.md',
  env: AuditEnv,
  check: (env, ctx) => {
    if (env.AUDIT_LOG !== 'off') return [];
    return (['AUDIT_MAX_BYTES', 'AUDIT_KEEP_FILES', 'AUDIT_TEXT_CHARS'] as const)
      .filter((key) => ctx.given(key))
      .map((key) => ({ key, reason: 'has no effect while AUDIT_LOG=off: set AUDIT_LOG too, or unset it' }));
  },
  build: (env) => {
    const destination = env.AUDIT_LOG === 'off' ? ({ kind: 'off' } as const) : env.AUDIT_LOG === 'stdout' ? ({ kind: 'stdout' } as const) : ({ kind: 'file', path: env.AUDIT_LOG } as const);
    return { destination, maxBytes: env.AUDIT_MAX_BYTES, keepFiles: env.AUDIT_KEEP_FILES, textChars: env.AUDIT_TEXT_CHARS };
  },
});
export type AuditSettings = SettingsOf<typeof AUDIT_SETTINGS>;
