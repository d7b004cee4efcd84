// The part of the WebAssembly JS API this project uses. Node and Workers both
// provide it as a global; the es2022 lib the project compiles against does not
// declare it, and the DOM lib would bring far more than this.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
  class Global {
    value: unknown;
  }
  function compile(bytes: Uint8Array): Promise<Module>;
  function instantiate(module: Module, imports: Record<string, unknown>): Promise<Instance>;
  function validate(bytes: Uint8Array): boolean;
}
