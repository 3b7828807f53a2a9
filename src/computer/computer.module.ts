import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TracingModule } from '../tracing/tracing.module';
import { ComputerProviderRegistry } from './computer-provider.registry';
import { ComputerActionRunner } from './computer-action';
import { ScreenshotService } from './screenshot.service';

/**
 * Computers: the Computer port, the registry of providers (any module can add one with
 * @RegisterComputerProvider()), and model-ready screenshots.
 */
@Module({
  imports: [DiscoveryModule, TracingModule],
  providers: [ComputerProviderRegistry, ScreenshotService, ComputerActionRunner],
  exports: [ComputerProviderRegistry, ScreenshotService, ComputerActionRunner],
})
export class ComputerModule {}

export { Computer, ComputerProvider } from './computer.port';
export { CheckedComputer } from './checked-computer';
export type { OptionalOperation, CommandOptions, CommandResult, CreateComputerOptions, Frame, LaunchResult, MouseButton, Point, ProgramOptions, ProgramResult, SettleOptions, SettleResult, Size } from './computer.port';
export { ComputerProviderRegistry, RegisterComputerProvider } from './computer-provider.registry';
export { ScreenshotService, fitForModel, MAX_ZOOM } from './screenshot.service';
export type { ImageFormat, ImageSize, Screenshot, ScreenshotLimits } from './screenshot.service';
export { parseKeyCombo, keysymOf } from './keys';
export { FakeComputerModule } from './fake/fake-computer.module';
export { FakeComputerProvider } from './fake/fake-computer.provider';
export { FakeComputer } from './fake/fake-computer';
export { decodeFakeText, backgroundFor } from './fake/fake-screen';
export { DesktopProfile, RegisterDesktopProfile, STANDARD_LAUNCHERS } from './xvfb/xvfb-computer.module';
export type { DesktopReady } from './xvfb/xvfb-computer.module';
export { ComputerActionRunner, COMPUTER_ACTIONS, CHANGES_SCREEN, SENDS_INPUT, SETTLES_AFTER, MAX_TYPE_CHARS, MAX_DURATION_S, describeSettle, settleJson } from './computer-action';
export type { ActionOutcome, ComputerAction, ComputerActionName, Coordinate, ShotGeometry } from './computer-action';
