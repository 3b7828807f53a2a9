/**
 * The public API for teams that extend the server from their own Nest modules:
 * the ports (Computer, ComputerProvider, CuaModel, ModelProvider), the registration decorators,
 * settings of their own (defineSettings, @Setting and the rules), the domain errors, and the root module.
 */
export { AppModule, BUILT_IN_PROVIDER_MODULES } from './app.module';
export type { AppModuleOptions } from './app.module';
export { ConfigValidationError, InjectSettings, Setting, Settings, defineSettings } from './config/config.module';
/** Rules for a settings field; each writes one message saying what is allowed. */
export { Bool, HttpUrl, Int, List, OneOf, Optional, RawText, Secret, Text, list } from './config/config.module';
export type { SettingsContext, SettingsDeclaration, SettingsOf, SettingsProblem } from './config/config.module';
export { DomainError, DomainErrorCode, isDomainError } from './common/domain-error';
export {
  Computer,
  ComputerProvider,
  CheckedComputer,
  RegisterComputerProvider,
  DesktopProfile,
  RegisterDesktopProfile,
  ScreenshotService,
  ComputerActionRunner,
  parseKeyCombo,
  COMPUTER_ACTIONS,
  FakeComputer,
  decodeFakeText,
} from './computer/computer.module';
export type {
  DesktopReady,
  CommandOptions,
  CommandResult,
  OptionalOperation,
  LaunchResult,
  CreateComputerOptions,
  Frame,
  MouseButton,
  Point,
  SettleOptions,
  SettleResult,
  Size,
  ComputerAction,
  ComputerActionName,
  Screenshot,
} from './computer/computer.module';
export { CuaComputer, CuaComputerProvider } from './computer/cua/cua-computer.module';
export type { CuaConnectOptions, CuaEndpoint, CuaServerInfo, EndpointStatus } from './computer/cua/cua-computer.module';
export { CuaModel, ModelCallError, ModelProvider, NOT_EXECUTED, RegisterModelProvider } from './agent/agent.module';
export type { ActionResult, ModelInput, ModelTurn, ScreenshotSize, StepRecord, TokenUsage } from './agent/agent.module';
export { ChatFamily, RegisterChatFamily, smartResize } from './agent/openai-compatible/openai-compatible-model.module';
export type { CoordinateConvention, FamilyPrompt, FamilyReading, FamilyRequest, FamilyStep, SentImage, SmartResize } from './agent/openai-compatible/openai-compatible-model.module';
export { serveStdio } from './mcp/mcp.module';
export { ComputerServerModule } from './computer-server/computer-server.module';
export type { ComputerServerModuleOptions } from './computer-server/computer-server.module';
export { startComputerServer, computerServerAddress } from './computer-server/main';
export { computerServerUrl } from './computer-server/computer-server.url';
export * from './cua-protocol';
export { MetricsRegistry } from './metrics/metrics.module';
