import { fork, type ChildProcess } from 'node:child_process';

/** A writer process driven over IPC: it sends one message when ready, then one answer per command. */
export interface IpcWriter<Command> {
  child: ChildProcess;
  /** Sends a command and resolves with the writer's answer. */
  send(command: Command): Promise<Record<string, unknown>>;
  /** Tells the writer to exit (`{ op: 'exit' }`) and waits until it has. */
  exit(): Promise<void>;
  /** SIGKILLs the writer and waits until it is gone. */
  kill(): Promise<void>;
}

/** Forks `script` (TypeScript, through tsx) with `env` beside this process's, and waits until it says it is ready. */
export async function startIpcWriter<Command>(script: string, env: NodeJS.ProcessEnv): Promise<IpcWriter<Command>> {
  const child = fork(script, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  return {
    child,
    send: (command) =>
      new Promise((resolve) => {
        child.once('message', (answer) => resolve(answer as Record<string, unknown>));
        child.send(command as object);
      }),
    exit: async () => {
      child.send({ op: 'exit' });
      await exited;
    },
    kill: async () => {
      child.kill('SIGKILL');
      if ((await exited) !== 'SIGKILL' && child.signalCode !== 'SIGKILL') throw new Error(`${script} was not killed by SIGKILL`);
    },
  };
}
