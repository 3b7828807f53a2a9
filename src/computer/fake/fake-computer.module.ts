import { Module } from '@nestjs/common';
import { FakeComputerProvider } from './fake-computer.provider';

/** Registers COMPUTER_PROVIDER=fake. */
@Module({ providers: [FakeComputerProvider], exports: [FakeComputerProvider] })
export class FakeComputerModule {}
