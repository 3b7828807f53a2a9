import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type SettingsDeclaration, declaredSettings, settingKeys } from './settings';

/**
 * docs/settings.md, written from the features' settings declarations (`npm run docs:settings`).
 * A unit spec fails when the checked-in file differs, so the reference cannot drift from the code.
 */
export function renderSettingsDoc(declarations: readonly SettingsDeclaration[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const sections = [...declarations]
    .sort((a, b) => a.title.localeCompare(b.title, 'en', { sensitivity: 'base' }))
    .map((d) => {
      const rows = settingKeys(d).map((k) => {
        const def = k.default === undefined ? '—' : `\`${typeof k.default === 'string' ? k.default : JSON.stringify(k.default)}\``;
        return `| \`${k.key}\` | ${def} | ${cell(k.doc)}${k.secret ? ' Secret: never logged or shown.' : ''} |`;
      });
      const more = d.docs ? `\nMore: [${d.docs}](${d.docs}).\n` : '';
      return [`## ${d.title}`, more, '| variable | default | meaning |', '| --- | --- | --- |', ...rows, ''].join('\n');
    });
  return [
    '<!-- Generated from the settings declarations (src/**/*.settings.ts) by `npm run docs:settings`. Do not edit by hand. -->',
    '# Settings',
    '',
    'Every setting is an environment variable, validated once at start: a bad value stops the server',
    'with exit code 1 and one message naming every bad key and what it must be (secret values are',
    'never shown). Each feature declares its own settings beside its code; a module of your own can',
    'add settings the same way ([extending.md](extending.md)).',
    '',
    ...sections,
  ].join('\n');
}

export const SETTINGS_DOC = join(__dirname, '..', '..', 'docs', 'settings.md');

/* istanbul ignore next: the npm script */
if (require.main === module) {
  // The app and the computer-server mode import every built-in feature, registering its settings.
  void Promise.all([import('../app.module'), import('../computer-server/computer-server.settings')]).then(() => {
    writeFileSync(SETTINGS_DOC, renderSettingsDoc(declaredSettings()));
    console.log(`wrote ${SETTINGS_DOC}`);
  });
}
