/**
 * How this process serves MCP: over HTTP (any number of clients), or over stdio (one client, whose MCP client may
 * start the process only to ask which protocol it speaks, and stop it a second later).
 */
export class ServingMode {
  constructor(readonly stdio: boolean) {}
}
