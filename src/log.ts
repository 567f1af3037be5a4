/** Where the library reports problems it survives (a full disk, a corrupt file). */
export interface Logger {
  warn(message: string): void;
}

export const consoleLogger: Logger = {
  warn(message: string): void {
    console.warn(`prom-multiproc: ${message}`);
  },
};
