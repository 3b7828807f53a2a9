import { FakeCuaPeer, NEWER_SERVER_COMMANDS } from '../../../test/support/fake-cua-peer';
import { cuaCommandsListing } from '../../cua-protocol';
import { CuaComputer } from './cua-computer';

/** How a triple click goes over the wire, by what the server lists at GET /commands (a FAKE peer records the frames). */
describe(`${CuaComputer.name} triple click`, () => {
  let peer: FakeCuaPeer;
  let sut: CuaComputer | undefined;
  beforeEach(async () => {
    peer = await FakeCuaPeer.start();
  });
  afterEach(async () => {
    await sut?.close();
    sut = undefined;
    await peer.close();
  });

  const clickFrames = async () => {
    sut = await CuaComputer.connect({ url: peer.url }, { requestTimeoutMs: 2000 });
    await sut.click({ x: 5, y: 6 }, 'left', 3);
    return peer.requests.filter((r) => !['version', 'get_screen_size'].includes(r.command)).map((r) => r.raw);
  };
  const EMULATED = [
    '{"command":"double_click","params":{"x":5,"y":6}}',
    '{"command":"mouse_down","params":{"x":5,"y":6,"button":"left"}}',
    '{"command":"mouse_up","params":{"x":5,"y":6,"button":"left"}}',
  ];

  it('is one triple_click request to a server that lists it (this project’s computer-server)', async () => {
    peer.commands = cuaCommandsListing();
    expect(await clickFrames()).toEqual(['{"command":"triple_click","params":{"x":5,"y":6}}']);
    expect(sut?.offers('triple_click')).toBe(true);
  });

  it('is a double_click and a third press and release on an upstream server whose listing has no triple_click', async () => {
    peer.commands = NEWER_SERVER_COMMANDS;
    expect(await clickFrames()).toEqual(EMULATED);
  });

  it('is emulated the same way on an older server without GET /commands', async () => {
    peer.commands = 404;
    expect(await clickFrames()).toEqual(EMULATED);
    expect(sut?.offers('triple_click')).toBe(false);
  });
});
