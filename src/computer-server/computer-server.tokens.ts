/** The address computer-server mode listens on (a string, for the origin guard). */
export const COMPUTER_SERVER_HOST = Symbol('COMPUTER_SERVER_HOST');
