/** Where a command writes and what it runs in; main() takes one so that tests can call it in-process. Imports nothing, so that `netflow --help` loads nothing else. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal: human log lines and progress then; JSON lines otherwise. */
  stderrIsTerminal?: boolean;
}

export const processIo = (): CliIo => ({
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stderrIsTerminal: process.stderr.isTTY === true,
  cwd: process.cwd(),
  env: process.env,
});
