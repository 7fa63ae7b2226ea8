/** The GGUF writer lives in support/ so benchmarks can use it too; tests import it from here. */
export * from '../../support/gguf-writer.js';
