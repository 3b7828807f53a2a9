/**
 * Example: a team adds its own computer provider and model provider from its own Nest module,
 * without forking the server. In your project, import from 'cua-mcp-server' instead of '../../src'.
 *
 *   Boot it with AppModule.forRoot({ imports: [AcmeModule] }) (see main.ts here), then set
 *   COMPUTER_PROVIDER=acme-notepad (with ACME_LICENCE_KEY; its settings: acme.settings.ts) and
 *   CUA_MODEL_NAME=acme/shout, or keep real desktops
 *   (COMPUTER_PROVIDER=xvfb) with the team's own desktop: DESKTOP_PROFILE=acme-notes.
 */
import { Injectable, Module } from '@nestjs/common';
import {
  Computer,
  ComputerProvider,
  FakeComputer,
  CuaModel,
  DesktopProfile,
  DesktopReady,
  InjectSettings,
  ModelInput,
  ModelProvider,
  ModelTurn,
  RegisterComputerProvider,
  RegisterDesktopProfile,
  RegisterModelProvider,
} from '../../src';
import { ACME_SETTINGS, type AcmeSettings } from './acme.settings';

/** DESKTOP_PROFILE=acme-notes: real desktops that open on the team's editor, with its notes file ready. */
@Injectable()
@RegisterDesktopProfile()
export class AcmeNotesDesktop extends DesktopProfile {
  readonly name = 'acme-notes';
  readonly description = 'openbox with Mousepad open on ~/notes.txt';
  readonly programs = { openbox: 'openbox', mousepad: 'mousepad' };
  readonly session = `exec openbox --sm-disable --startup 'mousepad /home/user/notes.txt'`;
  readonly ready: DesktopReady = { kind: 'active-window' };
  override readonly homeFiles = { 'notes.txt': 'ACME meeting notes\n' };
}


/** Keeps an audit trail of every computer it hands out (a typical enterprise add-on). */
@Injectable()
export class AuditTrail {
  readonly events: string[] = [];
  record(event: string) {
    this.events.push(`${new Date().toISOString()} ${event}`);
  }
}

/** COMPUTER_PROVIDER=acme-notepad: an in-memory notepad screen (built on the fake computer). */
@Injectable()
@RegisterComputerProvider()
export class AcmeNotepadProvider extends ComputerProvider {
  readonly name = 'acme-notepad';
  private n = 0;

  constructor(
    private readonly audit: AuditTrail,
    @InjectSettings(ACME_SETTINGS) private readonly settings: AcmeSettings,
  ) {
    super();
  }

  async create(): Promise<Computer> {
    const computer = new FakeComputer(`${this.settings.prefix}-${++this.n}`, this.settings.screen);
    this.audit.record(`created ${computer.id}`);
    const close = computer.close.bind(computer);
    computer.close = async () => {
      this.audit.record(`closed ${computer.id}`);
      await close();
    };
    return computer;
  }
}

/** CUA_MODEL_NAME=acme/<anything>: types the task in upper case, then answers with it. */
class ShoutingModel extends CuaModel {
  readonly name = 'acme/shout';
  async next(input: ModelInput): Promise<ModelTurn> {
    if (input.step === 1) return { thought: 'Shout it.', actions: [{ action: 'type', text: input.task.toUpperCase() }] };
    return { actions: [], done: { answer: `shouted ${input.task.length} characters` } };
  }
}

@Injectable()
@RegisterModelProvider()
export class AcmeModelProvider extends ModelProvider {
  readonly name = 'acme';
  create(): CuaModel {
    return new ShoutingModel();
  }
}

@Module({ providers: [AuditTrail, AcmeNotepadProvider, AcmeModelProvider, AcmeNotesDesktop], exports: [AuditTrail] })
export class AcmeModule {}
