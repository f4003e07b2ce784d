/** One problem found in an experiment, at a path such as `loss.options.noise`. */
export interface ExperimentIssue {
  path: string;
  message: string;
}

/**
 * Bad user input: an experiment, a data file, a run directory. The CLI prints
 * the message and exits with code 2. `issues` lists every problem at once.
 */
export class UserInputError extends Error {
  override readonly name = 'UserInputError';
  readonly issues: ExperimentIssue[];
  constructor(message: string, issues: ExperimentIssue[] = []) {
    super(issues.length === 0 ? message : `${message}\n${issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
    this.issues = issues;
  }
}
