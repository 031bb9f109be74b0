/** A problem found at start-up (configuration, policy, connections): the process does not start. */
export class StartupError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'StartupError';
  }
}
