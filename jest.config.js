/** Two projects: unit specs live beside the code, end-to-end specs under test/. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.check.json' }];
/**
 * ES-module-only packages that code under test loads (jose, for OAuth) or tests run in-process
 * (oidc-provider, the OpenID Provider of the OAuth tests), and packages that load Node's own modules
 * with a dynamic import() (the OTLP exporter's HTTP transport loads `http` so): Jest's CommonJS
 * runtime can run neither (import() needs --experimental-vm-modules), so ts-jest compiles them to
 * CommonJS, import() becoming require. Node itself runs them as they are.
 */
const ESM_PACKAGES = ['jose', 'oidc-provider', '@opentelemetry/otlp-exporter-base'];
const esmToCommonJs = ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', isolatedModules: true, skipLibCheck: true } }];
const transform = { '^.+\\.ts$': tsJest, [`/node_modules/(${ESM_PACKAGES.join('|')})/.+\\.js$`]: esmToCommonJs };
const transformIgnorePatterns = [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`];
module.exports = {
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
      setupFiles: ['<rootDir>/test/support/quiet-logs.ts'],
      transform,
      transformIgnorePatterns,
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      transform,
      transformIgnorePatterns,
    },
  ],
};
