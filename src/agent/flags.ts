/** flanneld's flags live in network/ (the CLI reads a running flanneld's argv with the same parser). */
export * from '../network/flanneld-flags.js';
